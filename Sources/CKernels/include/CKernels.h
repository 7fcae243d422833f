// CKernels: the package's hot loops in C, one variant per instruction set, chosen once at run time.
// No policy here (no allocation, no threading): callers in TensorCore and ToMe do packing, blocking and threading.
#ifndef CKERNELS_H
#define CKERNELS_H

#include "ck_atomic.h"
#include "ck_convert.h"
#include "ck_match.h"

#endif
