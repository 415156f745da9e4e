"""The one error type raised for any malformed or unsupported kmodel file."""


class KModelError(ValueError):
    """A kmodel file is malformed, truncated, inconsistent or of an unsupported version.

    Carries where the problem is: the file (if known), the layer index, the field name and the
    absolute byte offset in the file, so a user can look at the bytes themselves.
    """

    def __init__(self, message, *, layer=None, field=None, offset=None, path=None):
        self.message = message
        self.layer = layer
        self.field = field
        self.offset = offset
        self.path = path
        super().__init__(self._text())

    def _text(self):
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if self.layer is not None:
            where.append(f"layer {self.layer}")
        if self.field is not None:
            where.append(f"field '{self.field}'")
        if self.offset is not None:
            where.append(f"byte offset {self.offset} (0x{self.offset:x})")
        return (", ".join(where) + ": " if where else "") + self.message

    def with_path(self, path):
        self.path = path
        self.args = (self._text(),)
        return self
