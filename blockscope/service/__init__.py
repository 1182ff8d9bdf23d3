"""The application's operations, free of HTTP: resolve a request, build, analyse, cache."""
