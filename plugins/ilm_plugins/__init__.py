"""The reference plugins of ilm: the paper's own choices, registered through entry points.

Each subpackage is one entry point of group `ilm` and holds one kind of component. Its
`__init__` is light (records and params models only); the implementation is imported when a
component is built.
"""
