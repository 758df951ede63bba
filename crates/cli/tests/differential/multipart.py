# multipart uploads: files= with a (filename, content, type) tuple and form fields
from locust import HttpUser, constant, task


class Files(HttpUser):
    wait_time = constant(0)

    @task
    def upload(self):
        self.client.post(
            "/upload",
            data={"title": "report"},
            files={"file": ("report.csv", b"a,b\n1,2\n", "text/csv")},
        )
