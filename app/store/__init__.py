"""The one SQLite store of the server: classrooms and corrections share it (app.store.db)."""
