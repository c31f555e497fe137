/* leaf.c - a base file that reaches up into http: the check must refuse it */
#include "http/server.h"
