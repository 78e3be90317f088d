#!/usr/bin/env python3
"""Writes the texts of glowq's Gemma 3 tokenizer check, separated by "\n__ggml_vocab_test__\n"
(llama.cpp's vocabulary-test format): hand-written pieces of English, whitespace runs,
emoji, CJK and other scripts, code, numbers and special-token look-alikes, then seeded
random joins of them. Usage: gemma3_tokenizer_texts.py OUT.inp

scripts/make_gemma3_token_vectors.sh runs it and llama.cpp's llama-tokenize on every text."""
import random
import sys

english = [
    "The Eiffel Tower is located in the city of", "Hello world", " Hello world", "Hello World!",
    "hello, world", "It was a bright cold day in April, and the clocks were striking thirteen.",
    "I can't believe it's not butter!", "Don't stop-believing; well... maybe.", "e.g. i.e. etc. Mr. Smith",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG", "the quick brown fox jumps over the lazy dog",
    "A", "a", "I", "an apple a day", "re-entrant", "antidisestablishmentarianism", "supercalifragilisticexpialidocious",
    "O'Neil's  café", "naïve coöperation", "résumé", "Zürich, München and Köln", "façade déjà vu",
    "Mother's-in-law", "state-of-the-art", "1st 2nd 3rd 4th", "you're we're they'll I'd",
]
whitespace = [
    " ", "  ", "   ", "    ", "        ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", " \n", "\n ", " \t \n",
    "\r\n", "a  b", "a   b", "a\tb", "a\nb", "a\n\nb", "  leading", "trailing  ", "  both  ",
    "\u00a0non-breaking\u00a0space", "ideographic\u3000space", "x" + " " * 31 + "y", "\t" * 9 + "tabs",
]
emoji = [
    "🦙", "🚀", "😀😃😄", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "❤️", "✅", "☕ and 🍰",
    "😶‍🌫️ fog", "I ❤ you", "🤖🤖🤖🤖", "1️⃣2️⃣3️⃣", "🎉 party 🎉",
]
scripts = [
    "我想在apple工作", "你好，世界！", "東京は日本の首都です。", "カタカナとひらがな", "한국어 문장입니다.",
    "нещо на Български", "Привет, мир!", "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם",
    "नमस्ते दुनिया", "สวัสดีชาวโลก", "Cửa Việt", "Xin chào thế giới", "ქართული ენა", "Բարեւ աշխարհ",
    "កាន់តែពិសេស", "ᚠᚢᚦᚨᚱᚲ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝐁𝐨𝐥𝐝", "∀x∈ℝ: x²≥0", "½ ¼ ¾ ‰ ™ © ®",
]
code = [
    "int main(int argc, char** argv) { return 0; }", "for (size_t i = 0; i < n; ++i) sum += a[i] * b[i];",
    "def f(x):\n    return x ** 2\n", "    if x:\n        pass", "import numpy as np\nnp.zeros((3, 4))",
    '{"key": "value", "n": [1, 2, 3]}', "<div class=\"a\"><p>text</p></div>", "SELECT * FROM t WHERE id = 42;",
    "#include <vector>", "std::vector<std::string> v{\"a\", \"b\"};", "x = y != z && w >= 3 || !q",
    "fn main() { println!(\"hi\"); }", "$ ls -la | grep '.gguf' > out.txt", "a->b->c; p::q::r",
    "// comment\n/* block */", "#!/usr/bin/env bash\nset -euo pipefail", "0x1F 0b1010 1e-5 3.14159",
    "https://example.com/path?q=1&r=2#frag", "user@example.org", "C:\\Users\\name\\file.txt",
]
numbers = [
    "3", "33", "333", "3333", "33333", "333333", "3333333", "1234567890", "3.14", "-42", "+7",
    "1,000,000", "2026-11-30", "12:34:56", "100%", "$19.99", "€5", "¥1000", "#1", "v1.2.3", "2^10=1024",
    "!!!!!!", "???", "...", "---", "___", "***", "((()))", "[[]]", "{}", "<>", "''", '""', "``",
]
special = [
    "<start_of_turn>user\nHi<end_of_turn>", "<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "[multimodal]",
    "<start_of_image>", "<end_of_turn>", "< bos >", "<b>bold</b>",
]
pieces = english + whitespace + emoji + scripts + code + numbers + special
rng = random.Random(20261130)
texts = list(pieces)
while len(texts) < 320:
    k = rng.randint(2, 5)
    joiners = ["", " ", "  ", "\n", "\t", ", ", " - "]
    parts = [rng.choice(pieces) for _ in range(k)]
    texts.append(rng.choice(joiners).join(parts))
with open(sys.argv[1], "w", encoding="utf-8", newline="") as f:
    f.write("\n__ggml_vocab_test__\n".join(texts))
print(len(texts), "texts")
