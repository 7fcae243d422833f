// Run-time choice of the micro-kernel variants (AVX-512, AVX2, NEON, scalar).
#include "CKernels.h"
