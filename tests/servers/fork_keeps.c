/* A forking C server whose parent keeps its copy of every accepted socket (it never calls
 * close(c) after fork()). The child answers without Content-Length, so the answer ends only
 * when the connection does, and closes its copy; the connection stays open in the parent, so
 * no client ever sees the end. The child is reaped (SIGCHLD ignored).
 *
 * Build: cc -O1 -o fork_keeps fork_keeps.c    Usage: ./fork_keeps PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    signal(SIGCHLD, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 128) < 0) {
        perror("bind");
        return 1;
    }
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        if (fork() == 0) {
            close(s);
            char req[8192];
            (void)read(c, req, sizeof req);
            const char *ans = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n";
            (void)write(c, ans, strlen(ans));
            close(c);
            _exit(0);
        }
        /* the mistake: no close(c) here */
    }
}
