//  sipd_source — where a SIP message came from (or goes to): transport,
//  address and, for TCP, the connection it arrived on. Plain value type,
//  copied freely; shared by the transport, the registrar and the B2BUA.

#ifndef SIPD_SOURCE_H_INCLUDED
#define SIPD_SOURCE_H_INCLUDED

typedef enum {
    SIPD_TRANSPORT_UDP = 0,
    SIPD_TRANSPORT_TCP = 1
} sipd_transport_kind_t;

typedef struct {
    sipd_transport_kind_t transport;    //  UDP or TCP
    char ip[64];                        //  numeric address, no brackets
    int port;                           //  source port
    int conn_id;                        //  TCP connection id, 0 for UDP
} sipd_source_t;

#endif
