/* server.h - a header of the http layer */
#ifndef T_SERVER_H
#define T_SERVER_H
#endif
