# diff: -t 5s
# stream=True: the response comes back at its head and its body as it arrives. A client of
# server-sent events times its first token and its last and fires rows of its own; the
# first token comes long before the last (a client that waited for the whole body would
# count it failed)
import time

from locust import HttpUser, constant, events, task


class Stream(HttpUser):
    wait_time = constant(0)

    @task
    def tokens(self):
        start = time.perf_counter()
        first = None
        count = 0
        with self.client.get("/stream", stream=True, catch_response=True) as r:
            for line in r.iter_lines():
                if line.startswith(b"data:"):
                    count += 1
                    if first is None:
                        first = (time.perf_counter() - start) * 1000
            r.success()
        last = (time.perf_counter() - start) * 1000
        late = first is None or first > last / 2
        events.request.fire(
            request_type="SSE",
            name="first token",
            response_time=first or last,
            response_length=count,
            exception=Exception("the first token came with the last") if late else None,
            context={},
        )
        events.request.fire(
            request_type="SSE", name="last token", response_time=last, response_length=count, exception=None, context={}
        )
