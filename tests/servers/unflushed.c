/* A C server that writes its answer through stdio and never flushes it: fdopen() on the
 * accepted socket, fprintf() the whole answer into the FILE's buffer, then close() the
 * descriptor underneath (no fflush, no fclose). Every client gets zero bytes and a close.
 *
 * Build: cc -O1 -o unflushed unflushed.c    Usage: ./unflushed PORT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
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
        char req[8192];
        (void)read(c, req, sizeof req);
        FILE *out = fdopen(c, "w");
        fprintf(out, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n");
        close(c); /* the mistake: the FILE's buffer is never flushed */
    }
}
