/*
 * loopback.c: an LD_PRELOAD library that keeps a program's listening sockets
 * on the loopback interface.
 *
 * Some local servers (DynamoDB Local among them) listen on every interface
 * and have no option to choose the address. Loaded with LD_PRELOAD, this
 * library wraps bind(2): a bind to the IPv4 wildcard 0.0.0.0 becomes a bind
 * to 127.0.0.1, and a bind to the IPv6 wildcard :: becomes a bind to
 * ::ffff:127.0.0.1 on a dual-stack socket (so IPv4 clients of 127.0.0.1 still
 * reach it) or ::1 on an IPv6-only one. Every other bind is passed through.
 *
 * Build: gcc -shared -fPIC -O2 -o libloopback.so loopback.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_func)(int, const struct sockaddr *, socklen_t);

static bind_func next_bind(void) {
	static bind_func fn;
	if (fn == NULL) {
		fn = (bind_func)dlsym(RTLD_NEXT, "bind");
	}
	return fn;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
	bind_func real = next_bind();
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (addr != NULL && addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		struct sockaddr_in in;
		memcpy(&in, addr, sizeof in);
		if (in.sin_addr.s_addr == htonl(INADDR_ANY)) {
			in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			return real(fd, (const struct sockaddr *)&in, sizeof in);
		}
	} else if (addr != NULL && addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 in6;
		memcpy(&in6, addr, sizeof in6);
		if (IN6_IS_ADDR_UNSPECIFIED(&in6.sin6_addr)) {
			int v6only = 0;
			socklen_t optlen = sizeof v6only;
			if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &optlen) != 0) {
				v6only = 0;
			}
			if (v6only) {
				in6.sin6_addr = in6addr_loopback;
			} else {
				static const unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
				memcpy(&in6.sin6_addr, mapped, sizeof mapped);
			}
			return real(fd, (const struct sockaddr *)&in6, sizeof in6);
		}
	}
	return real(fd, addr, len);
}
