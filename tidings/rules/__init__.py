"""The contract's rules as pure functions: no I/O, no clocks, no event loops.

Each module here is tested on its own without any server.
"""
