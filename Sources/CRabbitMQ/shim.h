// rabbitmq-c as Swift sees it. Debian's 0.11 headers live at the top of /usr/include.
#ifndef ERIZO_CRABBITMQ_SHIM_H
#define ERIZO_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <poll.h>

// amqp_login is C-variadic, which Swift cannot call: this fixes the SASL method to PLAIN.
static inline amqp_rpc_reply_t erizo_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                      int channel_max, int frame_max, int heartbeat,
                                                      const char *user, const char *password) {
  return amqp_login(state, vhost, channel_max, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

// AMQP_BASIC_*_FLAG are enum-like macros built from shifts; give Swift plain values.
static inline amqp_flags_t erizo_amqp_basic_content_type_flag(void) { return AMQP_BASIC_CONTENT_TYPE_FLAG; }
static inline amqp_flags_t erizo_amqp_basic_delivery_mode_flag(void) { return AMQP_BASIC_DELIVERY_MODE_FLAG; }

#endif
