/* a.h - includes b.h, which includes a.h: the check must refuse it */
#include "store/b.h"
