"""The project's own module, imported by own_module.py (a locustfile's neighbour)."""


def paths():
    return ["/items/11", "/items/12"]


NAME = "/items/[own]"
