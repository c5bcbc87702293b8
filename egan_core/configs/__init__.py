"""The recipes shipped with egan (package data: ``recipes/*.yaml``, see ``egan recipe list``)."""
