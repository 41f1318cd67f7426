/* The pod sandbox's process for the test cluster's pods: sleeps until told to stop. Built with gcc -static. */
#include <signal.h>
#include <unistd.h>

static void stop(int signo) { (void)signo; _exit(0); }

int main(void) {
  signal(SIGTERM, stop);
  signal(SIGINT, stop);
  for (;;) pause();
}
