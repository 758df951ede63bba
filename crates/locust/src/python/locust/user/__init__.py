from .task import TaskSet, tag, task
from .users import HttpUser, User
