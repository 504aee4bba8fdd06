/*
 * delayline: a fixed-delay line for lab routers, because `tc netem` does not
 * exist on these kernels.
 *
 *   delayline TUN DELAY_MS QUEUE_PACKETS [--attached]
 *
 * Attaches to the (persistent, already configured) tun device TUN, reads every
 * IP packet the router routes into it, and writes it back into the same device
 * DELAY_MS later; policy routing on the router sends the re-injected packets
 * on to their real next hop. The delay is constant, so release order equals
 * arrival order and one preallocated FIFO ring of QUEUE_PACKETS slots holds
 * everything: no allocation per packet. A full ring drops the packet and
 * counts it (a real queue would too); counters go to stderr at exit.
 *
 * Prints "ready" once attached. Exits on SIGTERM/SIGINT, and with --attached
 * also when its stdin closes, so it dies with the process that started it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* Larger than the tun MTU (1500) with room to spare; longer packets are dropped. */
#define SLOT_BYTES 2048

struct slot {
  uint64_t due_ns;
  uint32_t len;
  unsigned char data[SLOT_BYTES];
};

struct ring {
  struct slot *slots;
  uint32_t cap;
  uint32_t head; /* next to release */
  uint32_t count;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int open_tun(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno || *s == '\0' || *end != '\0' || v < min || v > max) return -1;
  *out = (uint32_t)v;
  return 0;
}

int main(int argc, char **argv) {
  uint32_t delay_ms, cap;
  int attached = argc == 5 && strcmp(argv[4], "--attached") == 0;
  if ((argc != 4 && !attached) || parse_u32(argv[2], 1, 60000, &delay_ms) || parse_u32(argv[3], 16, 1u << 20, &cap)) {
    fprintf(stderr, "usage: delayline TUN DELAY_MS(1-60000) QUEUE_PACKETS(16-1048576) [--attached]\n");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  int fd = open_tun(argv[1]);
  if (fd < 0) {
    fprintf(stderr, "delayline: cannot attach to tun %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  struct ring ring = {calloc(cap, sizeof(struct slot)), cap, 0, 0};
  if (!ring.slots) {
    fprintf(stderr, "delayline: cannot allocate %u slots\n", cap);
    return 1;
  }
  const uint64_t delay_ns = (uint64_t)delay_ms * 1000000u;
  uint64_t forwarded = 0, dropped_full = 0, dropped_long = 0, write_errors = 0;

  if (write(STDOUT_FILENO, "ready\n", 6) != 6) return 1;

  struct pollfd pfd[2] = {{fd, POLLIN, 0}, {attached ? STDIN_FILENO : -1, POLLIN, 0}};
  while (!stop) {
    int timeout = -1;
    if (ring.count > 0) {
      uint64_t due = ring.slots[ring.head].due_ns, now = now_ns();
      /* round up: releasing early would break the one promise this makes */
      timeout = due <= now ? 0 : (int)((due - now + 999999u) / 1000000u);
    }
    int n = poll(pfd, 2, timeout);
    if (n < 0 && errno != EINTR) break;
    if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[64];
      ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
      if (r <= 0) break;
    }
    if (pfd[0].revents & POLLIN) {
      for (;;) {
        uint64_t t = now_ns();
        if (ring.count == ring.cap) {
          unsigned char sink[SLOT_BYTES];
          if (read(fd, sink, sizeof sink) < 0) break;
          dropped_full++;
          continue;
        }
        struct slot *s = &ring.slots[(ring.head + ring.count) % ring.cap];
        ssize_t r = read(fd, s->data, sizeof s->data);
        if (r < 0) break; /* EAGAIN: drained */
        if ((size_t)r >= sizeof s->data) { dropped_long++; continue; }
        s->len = (uint32_t)r;
        s->due_ns = t + delay_ns;
        ring.count++;
      }
    }
    uint64_t now = now_ns();
    while (ring.count > 0 && ring.slots[ring.head].due_ns <= now) {
      struct slot *s = &ring.slots[ring.head];
      if (write(fd, s->data, s->len) < 0) write_errors++;
      else forwarded++;
      ring.head = (ring.head + 1) % ring.cap;
      ring.count--;
    }
  }
  fprintf(stderr, "delayline %s: forwarded %llu, dropped %llu (queue full) %llu (too long), write errors %llu\n", argv[1],
          (unsigned long long)forwarded, (unsigned long long)dropped_full, (unsigned long long)dropped_long,
          (unsigned long long)write_errors);
  free(ring.slots);
  close(fd);
  return 0;
}
