#!/usr/bin/env python3
"""Tests of scripts/module_graph.py on made-up packages: each kind of import it must see, and
what it must not take for one. Run by `make modules`."""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "module_graph.py"


def check(files):
    """Runs the checker on a package made of `files` ({path: text}); (exit code, output)."""
    with tempfile.TemporaryDirectory() as root:
        for path, text in files.items():
            (Path(root) / path).parent.mkdir(parents=True, exist_ok=True)
            (Path(root) / path).write_text(text)
        run = subprocess.run([sys.executable, SCRIPT, "--package", f"made-up={root}"],
                             capture_output=True, text=True)
        return run.returncode, run.stdout + run.stderr


class ModuleGraph(unittest.TestCase):
    def test_two_files_that_use_each_other_are_a_circle(self):
        code, out = check({
            "lib.rs": "mod a;\nmod b;\n",
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": "pub struct B;\nfn f() -> crate::a::A { crate::a::A }\n",
        })
        self.assertEqual(code, 1, out)
        self.assertIn("a -> b", out)
        self.assertIn("b -> a", out)

    def test_an_import_that_points_down_is_no_circle(self):
        code, out = check({
            "lib.rs": "mod a;\nmod b;\n",
            "a.rs": "use crate::b::B;\npub struct A(B);\n",
            "b.rs": "pub struct B;\n",
        })
        self.assertEqual(code, 0, out)

    def test_a_re_export_is_followed_to_where_the_item_is_defined(self):
        # api/mod.rs re-exports AppState from app_state.rs and routes to handler.rs, which
        # uses AppState through the re-export: no circle through mod.rs.
        files = {
            "lib.rs": "mod api;\n",
            "api/mod.rs": "mod app_state;\nmod handler;\npub use app_state::AppState;\n"
                          "fn router() { handler::handle(); }\n",
            "api/app_state.rs": "pub struct AppState;\n",
            "api/handler.rs": "use super::AppState;\npub fn handle() {}\n",
        }
        self.assertEqual(check(files)[0], 0)
        # The same state defined in mod.rs itself is a circle.
        files["api/mod.rs"] = "mod handler;\npub struct AppState;\nfn router() { handler::handle(); }\n"
        code, out = check(files)
        self.assertEqual(code, 1, out)

    def test_super_in_an_inline_test_module_is_the_file_itself(self):
        code, out = check({
            "lib.rs": "mod a;\nmod b;\n",
            "a.rs": "use crate::b::B;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
            "b.rs": "pub struct B;\n",
        })
        self.assertEqual(code, 0, out)

    def test_comments_and_strings_are_not_imports(self):
        code, out = check({
            "lib.rs": "mod a;\nmod b;\n",
            "a.rs": "use crate::b::B;\n",
            "b.rs": "// crate::a::thing\n/// [`crate::a::A`]\nconst S: &str = \"crate::a::A\";\npub struct B;\n",
        })
        self.assertEqual(code, 0, out)

    def test_an_inherent_impl_in_another_file_belongs_to_the_types_module(self):
        code, out = check({
            "lib.rs": "mod store;\nmod setup;\n",
            "store.rs": "use crate::setup::Access;\npub struct Store;\nfn f(_: Access) {}\n",
            "setup.rs": "use crate::store::Store;\npub enum Access { A }\nimpl Store {\n    pub fn ensure(&self) {}\n}\n",
        })
        self.assertEqual(code, 1, out)

    def test_folders_that_lean_on_each_other_are_a_circle(self):
        code, out = check({
            "lib.rs": "mod api;\nmod jobs;\n",
            "api/mod.rs": "mod router;\n",
            "api/router.rs": "use crate::jobs::pool::run;\n",
            "jobs/mod.rs": "pub mod pool;\n",
            "jobs/pool.rs": "pub fn run() { crate::api::state(); }\n",
        })
        self.assertEqual(code, 1, out)
        self.assertIn("folders", out)


if __name__ == "__main__":
    unittest.main()
