// meshless_sockopt: the BGP socket options Node has no API for, on Linux.
//
//   TCP-MD5 (RFC 2385)  setsockopt(IPPROTO_TCP, TCP_MD5SIG): one key per peer address, on a
//                       connecting socket before connect() and on the listener (the kernel then
//                       drops every segment from that address without the right signature).
//   GTSM (RFC 5082)     outgoing TTL / hop limit 255 (IP_TTL, IPV6_UNICAST_HOPS) and the lowest
//                       TTL accepted (IP_MINTTL, IPV6_MINHOPCOUNT); TCP_SAVE_SYN on the listener
//                       so the TTL of an accepted connection's SYN can be checked afterwards.
//
// Both must be in place before the first segment, so connecting sockets are made here: socket(),
// options, bind(), non-blocking connect(), then a libuv poll on the loop Node runs until the
// connection completes (or fails, or times out). The connected descriptor goes back to JavaScript,
// which wraps it in a net.Socket. Rejected alternative: a net.Socket created first and options set
// through `_handle.fd` between Node's bind() and connect(), which depends on Node's internal call
// order (there is no public pre-connect hook).
//
// Every function works on plain descriptors (net.Server / net.Socket `_handle.fd`); errors are
// thrown (or passed to the callback) as Error objects with `code` (ENOPROTOOPT, ...) and `syscall`.
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_MINTTL
#define IP_MINTTL 21
#endif
#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT 73
#endif

// Bumped whenever the JavaScript-facing API changes; the loader refuses a stale binary.
#define SOCKOPT_ABI 1

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return NULL;                                                            \
  } while (0)

static napi_value make_error(napi_env env, int err, const char *syscall, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "%s%s%s: %s", syscall, what ? " " : "", what ? what : "", strerror(err));
  napi_value code, msg, error, sys, errno_value;
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sys);
  napi_set_named_property(env, error, "syscall", sys);
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  return error;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *what) {
  napi_throw(env, make_error(env, err, syscall, what));
  return NULL;
}

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return 0;
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static int socket_family(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  return ss.ss_family;
}

// Parses a numeric address into a sockaddr of the socket's family; an IPv4 address on an IPv6
// socket becomes ::ffff:a.b.c.d (the kernel keys and connects v4-mapped peers that way).
static int parse_address(const char *text, int port, int family, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, text, &a4) == 1) {
    if (family == AF_INET) {
      struct sockaddr_in *s = (struct sockaddr_in *)ss;
      s->sin_family = AF_INET;
      s->sin_port = htons(port);
      s->sin_addr = a4;
      *len = sizeof *s;
      return 0;
    }
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    s->sin6_addr.s6_addr[10] = 0xff;
    s->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&s->sin6_addr.s6_addr[12], &a4, 4);
    *len = sizeof *s;
    return 0;
  }
  if (inet_pton(AF_INET6, text, &a6) == 1) {
    if (family != AF_INET6) return EAFNOSUPPORT;
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    s->sin6_addr = a6;
    *len = sizeof *s;
    return 0;
  }
  return EINVAL;
}

static int set_md5(int fd, int family, const char *address, const uint8_t *key, size_t keylen) {
  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  socklen_t alen;
  int err = parse_address(address, 0, family, &sig.tcpm_addr, &alen);
  if (err) return err;
  if (keylen > TCP_MD5SIG_MAXKEYLEN) return EINVAL;
  // keylen 0 deletes the key for this address.
  sig.tcpm_keylen = (uint16_t)keylen;
  if (keylen) memcpy(sig.tcpm_key, key, keylen);
  return setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof sig) == 0 ? 0 : errno;
}

// Outgoing TTL and minimum accepted TTL (0: leave unset). On an IPv6 socket both the IPv6 and
// the IPv4 options are set: v4-mapped traffic on it goes through the IPv4 stack.
static int set_ttl(int fd, int family, int ttl, int min_ttl, const char **failed) {
  if (ttl > 0) {
    if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof ttl) != 0) return *failed = "setsockopt(IPV6_UNICAST_HOPS)", errno;
    if (setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl) != 0) return *failed = "setsockopt(IP_TTL)", errno;
  }
  if (min_ttl > 0) {
    if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, &min_ttl, sizeof min_ttl) != 0) return *failed = "setsockopt(IPV6_MINHOPCOUNT)", errno;
    if (setsockopt(fd, IPPROTO_IP, IP_MINTTL, &min_ttl, sizeof min_ttl) != 0) return *failed = "setsockopt(IP_MINTTL)", errno;
  }
  return 0;
}

// --- setMd5(fd, address, key | null) ------------------------------------------------------------

static napi_value js_set_md5(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  char address[INET6_ADDRSTRLEN + 1];
  size_t alen;
  if (argc < 3 || !get_int(env, argv[0], &fd)) return throw_type(env, "setMd5(fd, address, key): fd must be a number");
  if (napi_get_value_string_utf8(env, argv[1], address, sizeof address, &alen) != napi_ok) return throw_type(env, "setMd5: address must be a string");
  void *key = NULL;
  size_t keylen = 0;
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[2], &t));
  if (t != napi_null && t != napi_undefined) {
    bool is_buffer;
    CHECK(napi_is_buffer(env, argv[2], &is_buffer));
    if (!is_buffer) return throw_type(env, "setMd5: key must be a Buffer or null");
    CHECK(napi_get_buffer_info(env, argv[2], &key, &keylen));
    if (keylen == 0 || keylen > TCP_MD5SIG_MAXKEYLEN) return throw_type(env, "setMd5: key must be 1 to 80 bytes");
  }
  int family = socket_family(fd);
  if (family < 0) return throw_errno(env, errno, "getsockname", NULL);
  int err = set_md5(fd, family, address, key, keylen);
  if (err) return throw_errno(env, err, "setsockopt(TCP_MD5SIG)", address);
  return NULL;
}

// --- setTtl(fd, ttl, minTtl) ----------------------------------------------------------------------

static napi_value js_set_ttl(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, ttl, min_ttl;
  if (argc < 3 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &ttl) || !get_int(env, argv[2], &min_ttl)) return throw_type(env, "setTtl(fd, ttl, minTtl): numbers expected");
  if (ttl < 0 || ttl > 255 || min_ttl < 0 || min_ttl > 255) return throw_type(env, "setTtl: ttl and minTtl must be 0..255");
  int family = socket_family(fd);
  if (family < 0) return throw_errno(env, errno, "getsockname", NULL);
  const char *failed = NULL;
  int err = set_ttl(fd, family, ttl, min_ttl, &failed);
  if (err) return throw_errno(env, err, failed, NULL);
  return NULL;
}

// --- saveSyn(fd): TCP_SAVE_SYN on a listener ---------------------------------------------------

static napi_value js_save_syn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !get_int(env, argv[0], &fd)) return throw_type(env, "saveSyn(fd): fd must be a number");
  int on = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_SAVE_SYN, &on, sizeof on) != 0) return throw_errno(env, errno, "setsockopt(TCP_SAVE_SYN)", NULL);
  return NULL;
}

// --- savedSynTtl(fd): TTL / hop limit of the SYN that opened an accepted connection, or -1 ------

static napi_value js_saved_syn_ttl(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || !get_int(env, argv[0], &fd)) return throw_type(env, "savedSynTtl(fd): fd must be a number");
  uint8_t headers[512];
  socklen_t len = sizeof headers;
  int ttl = -1;
  // The kernel hands the saved headers out once (network header first) and frees them; with no
  // saved SYN (TCP_SAVE_SYN was not on when it arrived) the length is 0.
  if (getsockopt(fd, IPPROTO_TCP, TCP_SAVED_SYN, headers, &len) != 0) return throw_errno(env, errno, "getsockopt(TCP_SAVED_SYN)", NULL);
  int version = len > 0 ? headers[0] >> 4 : 0;
  if (version == 4 && len >= 20) ttl = headers[8];       // RFC 791: TTL at octet 8
  else if (version == 6 && len >= 40) ttl = headers[7];  // RFC 8200: hop limit at octet 7
  napi_value out;
  CHECK(napi_create_int32(env, ttl, &out));
  return out;
}

// --- connect(options, callback) -----------------------------------------------------------------

typedef struct {
  uv_poll_t poll;
  uv_timer_t timer;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int fd;
  int err;
  const char *syscall;
  int open_handles;
  int done;
} connect_req;

static void connect_finished(connect_req *req) {
  napi_env env = req->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value callback, global, argv[2], result;
  napi_get_reference_value(env, req->callback, &callback);
  napi_get_global(env, &global);
  if (req->err) {
    close(req->fd);
    argv[0] = make_error(env, req->err, req->syscall, NULL);
    napi_get_undefined(env, &argv[1]);
  } else {
    napi_get_null(env, &argv[0]);
    napi_create_int32(env, req->fd, &argv[1]);
  }
  if (napi_make_callback(env, req->context, global, callback, 2, argv, &result) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  napi_close_handle_scope(env, scope);
  napi_delete_reference(env, req->callback);
  napi_async_destroy(env, req->context);
  free(req);
}

static void on_handle_closed(uv_handle_t *handle) {
  connect_req *req = (connect_req *)handle->data;
  // The descriptor is handed to JavaScript only once libuv no longer watches it.
  if (--req->open_handles == 0) connect_finished(req);
}

static void connect_done(connect_req *req, int err, const char *syscall) {
  if (req->done) return;
  req->done = 1;
  req->err = err;
  req->syscall = syscall;
  uv_poll_stop(&req->poll);
  uv_timer_stop(&req->timer);
  uv_close((uv_handle_t *)&req->poll, on_handle_closed);
  uv_close((uv_handle_t *)&req->timer, on_handle_closed);
}

static void on_writable(uv_poll_t *poll, int status, int events) {
  (void)events;
  connect_req *req = (connect_req *)poll->data;
  // libuv reports POLLERR as UV_EBADF: the socket's own error (ECONNREFUSED, ...) is the real one.
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(req->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (!err && status < 0) err = -status;
  connect_done(req, err, "connect");
}

static void on_timeout(uv_timer_t *timer) {
  connect_done((connect_req *)timer->data, ETIMEDOUT, "connect");
}

static int get_string_prop(napi_env env, napi_value obj, const char *name, char *buf, size_t size, int *present) {
  napi_value v;
  napi_valuetype t;
  *present = 0;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_undefined || t == napi_null) return 1;
  size_t len;
  if (t != napi_string || napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) return 0;
  *present = 1;
  return 1;
}

static int get_int_prop(napi_env env, napi_value obj, const char *name, int32_t *out, int32_t fallback) {
  napi_value v;
  napi_valuetype t;
  *out = fallback;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return 0;
  if (t == napi_undefined || t == napi_null) return 1;
  return t == napi_number && napi_get_value_int32(env, v, out) == napi_ok;
}

// connect({host, port, localAddress?, md5Key?, ttl?, minTtl?, timeoutMs}, (err, fd) => void)
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype t0, t1;
  if (argc < 2 || napi_typeof(env, argv[0], &t0) != napi_ok || napi_typeof(env, argv[1], &t1) != napi_ok || t0 != napi_object || t1 != napi_function) {
    return throw_type(env, "connect(options, callback): an object and a function expected");
  }
  char host[INET6_ADDRSTRLEN + 1], local[INET6_ADDRSTRLEN + 1];
  int has_host, has_local;
  int32_t port, ttl, min_ttl, timeout_ms;
  if (!get_string_prop(env, argv[0], "host", host, sizeof host, &has_host) || !has_host) return throw_type(env, "connect: host must be an IP address string");
  if (!get_string_prop(env, argv[0], "localAddress", local, sizeof local, &has_local)) return throw_type(env, "connect: localAddress must be a string");
  if (!get_int_prop(env, argv[0], "port", &port, -1) || port < 1 || port > 65535) return throw_type(env, "connect: port must be 1..65535");
  if (!get_int_prop(env, argv[0], "ttl", &ttl, 0) || ttl < 0 || ttl > 255) return throw_type(env, "connect: ttl must be 0..255");
  if (!get_int_prop(env, argv[0], "minTtl", &min_ttl, 0) || min_ttl < 0 || min_ttl > 255) return throw_type(env, "connect: minTtl must be 0..255");
  if (!get_int_prop(env, argv[0], "timeoutMs", &timeout_ms, 5000) || timeout_ms < 1) return throw_type(env, "connect: timeoutMs must be positive");
  void *key = NULL;
  size_t keylen = 0;
  napi_value key_value;
  napi_valuetype kt;
  CHECK(napi_get_named_property(env, argv[0], "md5Key", &key_value));
  CHECK(napi_typeof(env, key_value, &kt));
  if (kt != napi_undefined && kt != napi_null) {
    bool is_buffer;
    CHECK(napi_is_buffer(env, key_value, &is_buffer));
    if (!is_buffer) return throw_type(env, "connect: md5Key must be a Buffer");
    CHECK(napi_get_buffer_info(env, key_value, &key, &keylen));
    if (keylen == 0 || keylen > TCP_MD5SIG_MAXKEYLEN) return throw_type(env, "connect: md5Key must be 1 to 80 bytes");
  }

  struct in6_addr probe;
  int family = inet_pton(AF_INET6, host, &probe) == 1 ? AF_INET6 : AF_INET;
  struct sockaddr_storage remote;
  socklen_t remote_len;
  int err = parse_address(host, port, family, &remote, &remote_len);
  if (err) return throw_errno(env, err, "connect", host);
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return throw_errno(env, errno, "socket", NULL);
  const char *failed = NULL;
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) err = errno, failed = "setsockopt(TCP_NODELAY)";
  if (!err && keylen) err = set_md5(fd, family, host, key, keylen), failed = "setsockopt(TCP_MD5SIG)";
  if (!err) err = set_ttl(fd, family, ttl, min_ttl, &failed);
  if (!err && has_local) {
    struct sockaddr_storage ls;
    socklen_t ls_len;
    err = parse_address(local, 0, family, &ls, &ls_len);
    if (!err && bind(fd, (struct sockaddr *)&ls, ls_len) != 0) err = errno;
    failed = "bind";
  }
  if (!err && connect(fd, (struct sockaddr *)&remote, remote_len) != 0 && errno != EINPROGRESS) err = errno, failed = "connect";
  if (err) {
    close(fd);
    return throw_errno(env, err, failed, NULL);
  }

  connect_req *req = calloc(1, sizeof *req);
  if (!req) {
    close(fd);
    return throw_errno(env, ENOMEM, "connect", NULL);
  }
  req->env = env;
  req->fd = fd;
  napi_value resource_name;
  uv_loop_t *loop;
  if (napi_create_reference(env, argv[1], 1, &req->callback) != napi_ok ||
      napi_create_string_utf8(env, "MeshlessBgpConnect", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, NULL, resource_name, &req->context) != napi_ok || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    close(fd);
    free(req);
    return NULL;
  }
  uv_poll_init_socket(loop, &req->poll, fd);
  uv_timer_init(loop, &req->timer);
  req->poll.data = req;
  req->timer.data = req;
  req->open_handles = 2;
  uv_poll_start(&req->poll, UV_WRITABLE | UV_DISCONNECT, on_writable);
  // The loop's clock is cached per iteration; a stale one would end the timeout early.
  uv_update_time(loop);
  uv_timer_start(&req->timer, on_timeout, (uint64_t)timeout_ms, 0);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setMd5", NULL, js_set_md5, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setTtl", NULL, js_set_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
      {"saveSyn", NULL, js_save_syn, NULL, NULL, NULL, napi_enumerable, NULL},
      {"savedSynTtl", NULL, js_saved_syn_ttl, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  napi_value abi;
  CHECK(napi_create_int32(env, SOCKOPT_ABI, &abi));
  CHECK(napi_set_named_property(env, exports, "abi", abi));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
