//  sipd_server_send — what sipd_server's TU sends: responses in server
//  transactions (libosip2's IST, sipd_nist), requests in new client
//  transactions (our Via with a fresh branch), CANCEL of a pending
//  INVITE, ACK and 2xx retransmissions outside any transaction (part of
//  sipd_server; see the top of sipd_server.c). The public functions are
//  in sipd_server.h.

#ifndef SIPD_SERVER_SEND_H_INCLUDED
#define SIPD_SERVER_SEND_H_INCLUDED

#include "sipd_server_private.h"

//  Serialize msg and send it to dest. Sets *conn_id_p (may be NULL) to
//  the TCP connection used. Returns 0 or -1.
int
    sipd_server_send_raw (sipd_server_t *self, osip_message_t *msg,
                          const sipd_source_t *dest, int *conn_id_p);

#endif
