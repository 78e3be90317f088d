package ai.glowq;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The JNI glue's streaming decoder: text cut into pieces at every byte boundary (characters of
 * 1 to 4 bytes, an emoji among them) comes out whole and equal to the original.
 */
public final class Utf8PiecesTest {
    public static void main(String[] args) {
        String text = "Paris \u00e9t\u00e9 \u4e2d\u6587 \ud83c\udf0a end";
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        for (int cut = 1; cut < bytes.length; ++cut) {
            byte[][] pieces = {Arrays.copyOfRange(bytes, 0, cut), Arrays.copyOfRange(bytes, cut, bytes.length)};
            String got = Native.joinUtf8Pieces(pieces);
            if (!got.equals(text)) {
                System.err.println("cut at byte " + cut + ": got \"" + got + "\"");
                System.exit(1);
            }
        }
        byte[][] single = new byte[bytes.length][];
        for (int i = 0; i < bytes.length; ++i) single[i] = new byte[] {bytes[i]};
        if (!Native.joinUtf8Pieces(single).equals(text)) {
            System.err.println("byte-by-byte pieces differ");
            System.exit(1);
        }
        System.out.println("utf-8 pieces: every cut of " + bytes.length + " bytes decodes whole");
    }
}
