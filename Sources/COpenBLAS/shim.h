// cblas.h on Debian is an alternative (/etc/alternatives) that points at the installed BLAS; with
// libopenblas-dev it is OpenBLAS's, which also declares openblas_set_num_threads.
#include <cblas.h>
