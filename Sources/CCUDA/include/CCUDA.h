#ifndef CCUDA_H
#define CCUDA_H
#endif
