using MobileUNet.Data;

namespace MobileUNet.Tests;

/// <summary>The repository's embedded data (data/) and scratch folders for tests.</summary>
public static class TestData
{
    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "data");
        if (Directory.Exists(Path.Combine(beside, "default"))) return beside;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "data", "DATA.md"))) return Path.Combine(dir.FullName, "data");
        throw new DirectoryNotFoundException("data/ not found above the test binaries.");
    }

    public static string Cutouts => Path.Combine(Root, "default", "cutouts");
    public static string Backgrounds => Path.Combine(Root, "default", "backgrounds");
    public static string Voc => Path.Combine(Root, "voc");

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "munet-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// The JPEG with an APP1 Exif segment right after its start marker holding only the orientation tag, as phones
    /// mark portrait shots (6: the viewer turns the stored picture 90 degrees clockwise).
    /// </summary>
    public static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        byte[] tiff =
        [
            (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, // big-endian TIFF header, first IFD at 8
            0, 1,                                    // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, (byte)(orientation >> 8), (byte)orientation, 0, 0, // Orientation, SHORT, 1
            0, 0, 0, 0,                              // no next IFD
        ];
        byte[] payload = [.. "Exif\0\0"u8.ToArray(), .. tiff];
        int length = payload.Length + 2;
        return [jpeg[0], jpeg[1], 0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload, .. jpeg.AsSpan(2)];
    }

    /// <summary>A solid-colour image with a filled rectangle of another colour.</summary>
    public static RgbaImage Blocks(int w, int h, (int X, int Y, int W, int H) box, (byte, byte, byte) inside, (byte, byte, byte) outside)
    {
        var image = new RgbaImage(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                bool inBox = x >= box.X && x < box.X + box.W && y >= box.Y && y < box.Y + box.H;
                var (r, g, b) = inBox ? inside : outside;
                int o = (y * w + x) * 4;
                image.Pixels[o] = r; image.Pixels[o + 1] = g; image.Pixels[o + 2] = b; image.Pixels[o + 3] = 255;
            }
        return image;
    }
}
