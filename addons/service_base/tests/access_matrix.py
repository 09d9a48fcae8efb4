"""The engine of an addon's access matrix test: each role × model × operation, through the
ORM as the role's user, every allowed change undone. The addons declare their own matrix
(roles, expected operations, the records to try) and call `assertAccessMatrix`."""

from contextlib import contextmanager

from odoo.exceptions import AccessError, UserError


class _Undo(Exception):
    """Raised to roll a savepoint back after an allowed call."""


class AccessMatrixMixin:
    """For a TransactionCase with `self.users` ({role: user})."""

    def _allowed(self, method, *args):
        """Whether the call is allowed; what it did is undone either way."""
        try:
            with self._rolled_back():
                method(*args)
        except (AccessError, UserError):
            return False
        return True

    @contextmanager
    def _rolled_back(self):
        """Whatever the block did (an allowed create or unlink) is undone after it."""
        try:
            with self.env.cr.savepoint():
                yield
                raise _Undo
        except _Undo:
            self.env.invalidate_all()

    def assertAccessMatrix(self, matrix, roles, records, foreign_readers):
        """`matrix`: {model: {role: "crwu" letters allowed}}; `records`: {model: (home
        record, a record of another subtree or None, create values or None, write values
        or None)}; `foreign_readers`: the roles that read the other subtree's record."""
        self.assertEqual(set(matrix), set(records))
        for model, (home, foreign, create_vals, write_vals) in records.items():
            self.assertTrue(home, f"fixture of {model}")
            for role in roles:
                user = self.users[role]
                expected = matrix[model][role]
                Model = self.env[model].with_user(user)
                with self.subTest(model=model, role=role), self._rolled_back():
                    try:
                        seen = Model.search([("id", "in", (home | (foreign or home)).ids)])
                    except AccessError:  # no access right at all
                        seen = Model.browse()
                    self.assertEqual("r" in expected, home in seen, "read")
                    if foreign is not None:
                        self.assertEqual(role in foreign_readers, foreign in seen, "read other")
                    if "r" in expected:
                        home.with_user(user).read(["display_name"])
                    if write_vals:
                        allowed = self._allowed(home.with_user(user).write, write_vals)
                        self.assertEqual("w" in expected, allowed, "write")
                    if create_vals:
                        allowed = self._allowed(Model.create, create_vals)
                        self.assertEqual("c" in expected, allowed, "create")
                    disposable = self.env[model].create(create_vals) if create_vals else home
                    allowed = self._allowed(disposable.with_user(user).unlink)
                    self.assertEqual("u" in expected, allowed, "unlink")
