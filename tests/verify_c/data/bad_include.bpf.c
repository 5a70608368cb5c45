/* C101: a header the preprocessor cannot find. */
#include "vmlinux.h"					// E[C101]

char _license[] SEC("license") = "GPL";
