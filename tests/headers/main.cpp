int f1();
int f2();
#ifdef KERNEL_NAME  // also print the kernel that ran
#include <cstdio>
#include "mbrl.hpp"
int main() { const int r = f1() + f2(); std::printf("%s", mbrl::kernel_name()); return r; }
#else
int main() { return f1() + f2(); }
#endif
