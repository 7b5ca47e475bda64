"""What the tests share besides fixtures: factories, HTTP and sign-in helpers, the live server,
the browser and axe helpers, the register's helpers and its real-server harness.

Fixtures stay in the conftest.py files (pytest finds them there) and call these functions. Test
modules import from here, never from one another nor from a conftest; `bench/` may import from
here, never the reverse.
"""
