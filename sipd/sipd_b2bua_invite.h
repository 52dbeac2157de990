//  sipd_b2bua_invite — new calls: the caller's initial INVITE is
//  authenticated (407 with the REGISTER credentials; the trunk host is
//  not challenged), routed by the dial plan (extension, trunk or 404;
//  offline extension 480, busy 486) and forked to the callee's contacts
//  or the trunk (part of sipd_b2bua, see sipd_b2bua_private.h).

#ifndef SIPD_B2BUA_INVITE_H_INCLUDED
#define SIPD_B2BUA_INVITE_H_INCLUDED

#include "sipd_b2bua_private.h"

//  Request handler (sipd_server) for INVITE: one without a To tag starts a
//  call, one with a To tag goes to sipd_b2bua_on_in_dialog.
int
    sipd_b2bua_on_invite (void *arg, int txn_id, osip_message_t *request,
                          const sipd_source_t *source);

#endif
