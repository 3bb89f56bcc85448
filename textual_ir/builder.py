"""The inline transformer that builds xDSL IR while the generic-form grammar is reduced.

Values and blocks are resolved in lexical scopes: a region opens a scope (the rule
`region_open` is reduced as soon as its `{` is read, before any op inside it), names of
enclosing regions stay visible inside, and a name used before its definition gets a
placeholder value that the definition replaces. A placeholder still unresolved when its
region closes moves to the enclosing scope (the value may be defined later out there); one
still unresolved at the end of the file is an error. Blocks are local to their region.
"""

from __future__ import annotations

from lark import Token
from xdsl.context import Context
from xdsl.dialects.builtin import LocationAttr, ModuleOp
from xdsl.ir import Attribute, Block, BlockArgument, Operation, Region, SSAValue
from xdsl.irdl import IRDLOperation

from .attributes import AttributeBuilder
from .literals import DeferredLoc
from .resources import ResourceBuilder


class _Forward(SSAValue):
    """A value used before its definition; replaced by the definition."""

    @property
    def owner(self):  # pragma: no cover - never asked during parsing
        raise ValueError("a forward reference has no owner")


class _Scope:
    """The names of one region: values, pending forward references and blocks."""

    __slots__ = ("parent", "values", "pending", "blocks")

    def __init__(self, parent: _Scope | None):
        self.parent = parent
        self.values: dict[str, tuple[SSAValue, ...]] = {}
        # name -> {tuple index -> (placeholder, first use token)}
        self.pending: dict[str, dict[int, tuple[_Forward, Token]]] = {}
        # name -> [block, defining label token or None, first reference token]
        self.blocks: dict[str, list] = {}


def _split_use(tok: Token) -> tuple[str, int]:
    """`%x#2` -> ("x", 2); `%x` -> ("x", 0)."""
    name, sep, index = tok.partition("#")
    return name[1:], int(index) if sep else 0


class IRBuilder(AttributeBuilder, ResourceBuilder):
    """Callbacks for `generic.lark`; `reset` prepares it for one parse."""

    def reset(self, ctx: Context, filename: str, text: str) -> None:
        self.ctx = ctx
        self.filename = filename
        self.lines = text.splitlines()
        self.reset_attributes()
        self.reset_resources()
        self.metadata = None
        self.scope = _Scope(None)
        # (op, line, col, whether the op had no `loc(...)` of its own); block arguments
        # without a `loc(...)` are listed too, for `implicit_location`
        self.positions: list[tuple[Operation | BlockArgument, int, int, bool]] = []
        self._op_types: dict[str, tuple[type[Operation], frozenset[str]]] = {}
        # ops and block arguments whose `loc(#alias)` is defined later in the file
        self.deferred_locs: list[tuple[Operation | BlockArgument, Token]] = []

    # -- value scopes

    def _lookup(self, tok: Token, t: Attribute) -> SSAValue:
        """The value `tok` names, of type `t`; a placeholder if not defined yet."""
        name, index = _split_use(tok)
        scope = self.scope
        while scope is not None:
            values = scope.values.get(name)
            if values is not None:
                if index >= len(values):
                    raise self.error(
                        tok, f"'%{name}' has {len(values)} value(s); '#{index}' is out of range"
                    )
                value = values[index]
                if value.type is not t and value.type != t:
                    raise self.error(
                        tok,
                        f"use of value '{tok}' expects type {t}, but it was defined with "
                        f"type {value.type}",
                    )
                return value
            scope = scope.parent
        pending = self.scope.pending.setdefault(name, {})
        entry = pending.get(index)
        if entry is None:
            entry = pending[index] = (_Forward(t), tok)
        elif entry[0].type != t:
            raise self.error(
                tok,
                f"use of value '{tok}' expects type {t}, but an earlier use has type "
                f"{entry[0].type}",
            )
        return entry[0]

    def _define(self, tok: Token, values: tuple[SSAValue, ...]) -> None:
        name = tok[1:]
        if "#" in name:
            raise self.error(tok, f"a value definition cannot have a result index: '{tok}'")
        scope = self.scope
        while scope is not None:
            if name in scope.values:
                raise self.error(tok, f"redefinition of SSA value '{tok}'")
            scope = scope.parent
        self.scope.values[name] = values
        if SSAValue.is_valid_name(name):
            for v in values:
                v.name_hint = name
        pending = self.scope.pending.pop(name, None)
        if pending:
            self._resolve(name, pending, values)

    def _resolve(self, name: str, pending: dict, values: tuple[SSAValue, ...]) -> None:
        for index, (placeholder, use) in pending.items():
            if index >= len(values):
                raise self.error(
                    use, f"'%{name}' has {len(values)} value(s); '#{index}' is out of range"
                )
            value = values[index]
            if value.type != placeholder.type:
                raise self.error(
                    use,
                    f"use of value '{use}' expects type {placeholder.type}, but it is "
                    f"defined with type {value.type}",
                )
            placeholder.replace_all_uses_with(value)

    def _close_scope(self) -> None:
        """Leave a region: check its blocks, hand unresolved names to the parent."""
        scope = self.scope
        for name, (_, label, first_use) in scope.blocks.items():
            if label is None:
                raise self.error(first_use, f"reference to an undefined block '^{name}'")
        parent = scope.parent
        assert parent is not None
        for name, refs in scope.pending.items():
            outer = parent.pending.setdefault(name, {})
            for index, (placeholder, use) in refs.items():
                entry = outer.get(index)
                if entry is None:
                    outer[index] = (placeholder, use)
                elif entry[0].type != placeholder.type:
                    raise self.error(
                        use,
                        f"use of value '{use}' expects type {placeholder.type}, but an "
                        f"earlier use has type {entry[0].type}",
                    )
                else:
                    placeholder.replace_all_uses_with(entry[0])
        self.scope = parent

    def _block(self, tok: Token) -> Block:
        name = tok[1:]
        entry = self.scope.blocks.get(name)
        if entry is None:
            block = Block()
            if Block.is_valid_name(name) and not Block.is_default_block_name(name):
                block.name_hint = name
            entry = self.scope.blocks[name] = [block, None, tok]
        return entry[0]

    # -- file

    def start(self, c):
        ops = c[0]
        scope = self.scope
        for name, refs in scope.pending.items():
            use = min((u for _, u in refs.values()), key=lambda u: (u.line, u.column))
            raise self.error(use, f"use of undefined value '%{name}'")
        for name, (_, label, first_use) in scope.blocks.items():
            if label is None:
                raise self.error(first_use, f"reference to an undefined block '^{name}'")
        for owner, tok in self.deferred_locs:
            loc = self.aliases.get(str(tok))
            if loc is None:
                raise self.error(tok, f"undefined location alias '{tok}'")
            if not isinstance(loc, LocationAttr):
                raise self.error(tok, f"'{tok}' is not a location")
            owner.location = loc
        if len(ops) == 1 and isinstance(ops[0], ModuleOp):
            module = ops[0]
        else:
            module = ModuleOp(ops)
        self.metadata = self.settle_resources(module)
        return module

    def top_empty(self, c):
        return []

    def top_op(self, c):
        c[0].append(c[1])
        return c[0]

    def _alias(self, tok: Token, value: Attribute) -> None:
        name = str(tok)
        if "<" in name:
            raise self.error(tok, f"an alias name cannot have a body: '{name}'")
        if name in self.aliases:
            raise self.error(tok, f"redefinition of alias '{name}'")
        self.aliases[name] = value

    def top_attr_alias(self, c):
        self._alias(c[1], c[2])
        return c[0]

    def top_type_alias(self, c):
        self._alias(c[1], c[2])
        return c[0]

    # -- operations

    def _op_type(self, tok: Token) -> tuple[type[Operation], frozenset[str]]:
        found = self._op_types.get(tok)
        if found is None:
            name = self.unescape(tok)
            cls = self.ctx.get_optional_op(name)
            if cls is None:
                raise self.error(
                    tok,
                    f"unknown operation '{name}' (its dialect is not loaded; unregistered "
                    "operations need a Context with allow_unregistered=True)",
                )
            props: frozenset[str] = frozenset()
            if issubclass(cls, IRDLOperation):
                props = frozenset(cls.get_irdl_definition().properties)
            found = self._op_types[tok] = (cls, props)
        return found

    def operation(self, c):
        results, name, operand_toks, succs, props, regions, attrs, sig, loc = c
        cls, prop_names = self._op_type(name)
        in_types, out_types = sig
        if len(operand_toks) != len(in_types):
            raise self.error(
                name,
                f"'{name[1:-1]}' has {len(operand_toks)} operand(s) but its type lists "
                f"{len(in_types)} operand type(s)",
            )
        lookup = self._lookup
        operands = [lookup(tok, t) for tok, t in zip(operand_toks, in_types)]
        blocks = []
        for block_tok, args in succs:
            blocks.append(self._block(block_tok))
            operands += [lookup(tok, t) for tok, t in args]
        deferred = None
        if isinstance(loc, DeferredLoc):
            deferred, loc = loc.token, None
        if props is None:
            props = {}
        if attrs is None:
            attrs = {}
        elif prop_names:
            # Like xDSL's parser: properties written in the attribute dictionary move over.
            for key in prop_names.intersection(attrs):
                if key not in props:
                    props[key] = attrs.pop(key)
        op = cls.create(
            operands=operands,
            result_types=out_types,
            properties=props,
            attributes=attrs,
            location=loc,
            successors=blocks,
            regions=regions,
        )
        if deferred is not None:
            self.deferred_locs.append((op, deferred))
        first = name
        if results:
            first = results[0][0]
            count = sum(n for _, n in results)
            if count != len(out_types):
                raise self.error(
                    first,
                    f"'{name[1:-1]}' has {len(out_types)} result type(s) but {count} "
                    "result name(s) are bound",
                )
            i = 0
            for tok, n in results:
                self._define(tok, tuple(op.results[i : i + n]))
                i += n
        self.positions.append((op, first.line, first.column, loc is None and deferred is None))
        return op

    def op_results(self, c):
        return c[0]

    def result_first(self, c):
        return [(c[0], 1)]

    def result_first_n(self, c):
        return [(c[0], self._count(c[1]))]

    def result_more(self, c):
        c[0].append((c[1], 1))
        return c[0]

    def result_more_n(self, c):
        c[0].append((c[1], self._count(c[2])))
        return c[0]

    def _count(self, tok: Token) -> int:
        if not tok.isdigit() or int(tok) == 0:
            raise self.error(tok, f"expected a positive result count, got '{tok}'")
        return int(tok)

    def successors(self, c):
        return c[0]

    def successor_plain(self, c):
        return (c[0], ())

    def successor_with_args(self, c):
        return (c[0], c[1])

    def succ_arg_first(self, c):
        return [(c[0], c[1])]

    def succ_arg_more(self, c):
        c[0].append((c[1], c[2]))
        return c[0]

    def properties(self, c):
        return c[0]

    def attr_dict_opt(self, c):
        return c[0]

    def op_sig(self, c):
        return c[0], c[1]

    def operands(self, c):
        return c[0]

    def regions(self, c):
        return c[0]

    # -- regions and blocks

    def region_open(self, c):
        self.scope = _Scope(self.scope)

    def items_empty(self, c):
        return []

    def items_op(self, c):
        c[0].append(c[1])
        return c[0]

    items_label = items_op

    def region(self, c):
        items = c[1]
        region = Region()
        block = None
        pending: list[Operation] = []
        for item in items:
            if isinstance(item, Block):
                if pending:
                    block.add_ops(pending)
                    pending = []
                block = item
                region.add_block(block)
            else:
                if block is None:
                    block = Block()
                    region.add_block(block)
                pending.append(item)
        if pending:
            block.add_ops(pending)
        self._close_scope()
        return region

    def _label(self, tok: Token) -> Block:
        block = self._block(tok)
        entry = self.scope.blocks[tok[1:]]
        if entry[1] is not None:
            raise self.error(tok, f"redefinition of block '{tok}'")
        entry[1] = tok
        return block

    def label_plain(self, c):
        return self._label(c[0])

    def label_args(self, c):
        block = self._label(c[0])
        for tok, t, loc in c[1]:
            deferred = isinstance(loc, DeferredLoc)
            arg = block.insert_arg(t, len(block.args), None if deferred else loc)
            if deferred:
                self.deferred_locs.append((arg, loc.token))
            elif loc is None:
                self.positions.append((arg, tok.line, tok.column, True))
            self._define(tok, (arg,))
        return block

    def block_arg(self, c):
        return c[0], c[1], c[2]
