print("tomesd")
