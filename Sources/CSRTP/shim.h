// libsrtp2 as Swift sees it.
#ifndef ERIZO_CSRTP_SHIM_H
#define ERIZO_CSRTP_SHIM_H

#include <srtp2/srtp.h>

#endif
