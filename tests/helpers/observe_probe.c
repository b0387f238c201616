/* observe_probe.c — static helper copied into the observe-all fixture: a UDP sendto and a
 * ptrace attempt, the two observer cases node cannot make precisely. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(53)};
    inet_pton(AF_INET, "192.0.2.53", &to.sin_addr);
    ssize_t n = sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof to);
    long p = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    printf("sendto=%zd ptrace=%ld\n", n, p);
    return 0;
}
