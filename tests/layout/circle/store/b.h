/* b.h - the other half of the circle */
#include "store/a.h"
