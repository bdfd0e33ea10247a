"""`module_goal.module_source`: the parse that gives a cell module semantics for `return` and `arguments`."""

from codex_actors.codemode.module_goal import ILLEGAL_RETURN, module_source
from codex_actors.codemode.prelude import THROW_ARGUMENTS


def test_code_without_the_words_is_returned_as_is_and_error_free():
    assert module_source('text("ok")') == ('text("ok")', None)


def test_rewrites_keep_every_line_and_column():
    code = 'const é = 1; text(arguments);\ntext(typeof (arguments)); function f() { return arguments }'
    out, error = module_source(code)
    assert error is None
    assert out == (f'const é = 1; text({THROW_ARGUMENTS}());\n'
                   'text(typeof (undefined)); function f() { return arguments }')
    assert [len(line.encode("utf-16-le")) for line in out.split("\n")] == [
        len(line.encode("utf-16-le")) for line in code.split("\n")]


def test_bindings_assignments_and_property_names_are_left_to_v8():
    for code in ("let arguments = 1", "arguments = 1", "arguments++", "[arguments] = [1]", "delete arguments",
                 "o.arguments", "({ arguments: 1 })"):
        assert module_source(code) == (code, None), code


def test_unparsable_code_is_left_to_v8():
    assert module_source("return (") == ("return (", None)


def test_the_first_top_level_return_is_reported():
    out, error = module_source("const f = () => { return 1 };\nwhile (true) { return }\nreturn 2")
    assert error == f"{ILLEGAL_RETURN}\n    at exec_main.mjs:2:16"


def test_returns_and_arguments_of_nested_scopes_are_not_the_cells_own():
    nested = ("const o = { get p() { return arguments } };\n"
              "class K { static { text(1) } m() { return 1 } }\n"
              "const f = async (x) => { if (x) { return arguments } return x };\n"
              "function* g() { yield 1; return arguments }\n")
    assert module_source(nested) == (nested.replace("return arguments } return x",
                                                    f"return {THROW_ARGUMENTS}() }} return x"), None)
    late = nested + "for (const a of [1]) {\n  if (a) {\n    return a\n  }\n}\n"
    assert module_source(late)[1] == f"{ILLEGAL_RETURN}\n    at exec_main.mjs:7:5"
