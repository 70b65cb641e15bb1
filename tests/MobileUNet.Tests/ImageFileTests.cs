using MobileUNet.Data;
using SkiaSharp;

namespace MobileUNet.Tests;

public class ImageFileTests
{
    [Fact]
    public void Reads_webp_cutout_with_alpha_jpeg_and_palette_png()
    {
        var cutout = ImageFile.Read(Path.Combine(TestData.Cutouts, "1f415.webp"));
        Assert.Equal((256, 256), (cutout.Width, cutout.Height));
        var alphas = Enumerable.Range(0, 256 * 256).Select(i => cutout.Pixels[i * 4 + 3]).ToList();
        Assert.Contains((byte)0, alphas);
        Assert.Contains((byte)255, alphas);
        var photo = ImageFile.Read(Path.Combine(TestData.Voc, "JPEGImages", "2011_000003.jpg"));
        var mask = ImageFile.Read(Path.Combine(TestData.Voc, "SegmentationClassPNG", "2011_000003.png"));
        Assert.Equal((photo.Width, photo.Height), (mask.Width, mask.Height));
    }

    [Fact]
    public void Png_round_trips_rgba_and_grey()
    {
        var dir = TestData.TempDir();
        var image = TestData.Blocks(7, 5, (1, 1, 3, 2), (200, 10, 20), (5, 6, 7));
        image.Pixels[3] = 100; // one translucent pixel: straight alpha must survive
        ImageFile.WritePng(Path.Combine(dir, "a.png"), image);
        Assert.Equal(image.Pixels, ImageFile.Read(Path.Combine(dir, "a.png")).Pixels);
        ImageFile.WriteGreyPng(Path.Combine(dir, "g.png"), 3, 1, [0, 128, 255]);
        var grey = ImageFile.Read(Path.Combine(dir, "g.png"));
        Assert.Equal(new byte[] { 0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255 }, grey.Pixels);
    }

    [Fact]
    public void Reads_binary_ppm_and_16_bit_pgm()
    {
        var dir = TestData.TempDir();
        var ppm = Path.Combine(dir, "m.ppm");
        File.WriteAllBytes(ppm, [.. "P6\n# LFW-style\n2 1\n255\n"u8.ToArray(), 255, 0, 0, 0, 255, 0]);
        var image = ImageFile.Read(ppm);
        Assert.Equal(new byte[] { 255, 0, 0, 255, 0, 255, 0, 255 }, image.Pixels);
        var pgm = Path.Combine(dir, "d.pgm");
        File.WriteAllBytes(pgm, [.. "P5 2 1 65535\n"u8.ToArray(), 0xFF, 0xFF, 0x80, 0x00]);
        var grey = ImageFile.Read(pgm);
        Assert.Equal(new byte[] { 255, 255, 255, 255, 128, 128, 128, 255 }, grey.Pixels);
    }

    [Fact]
    public void Exif_orientation_rotates_pixels_upright()
    {
        // 2x1: left pixel red, right pixel blue. RightTop (6) = the viewer rotates 90 degrees clockwise.
        var src = new RgbaImage(2, 1, [255, 0, 0, 255, 0, 0, 255, 255]);
        var rotated = ImageFile.Orient(src, SKEncodedOrigin.RightTop);
        Assert.Equal((1, 2), (rotated.Width, rotated.Height));
        Assert.Equal(new byte[] { 255, 0, 0, 255, 0, 0, 255, 255 }, rotated.Pixels); // red on top after a clockwise turn
        var mirrored = ImageFile.Orient(src, SKEncodedOrigin.TopRight);
        Assert.Equal(new byte[] { 0, 0, 255, 255, 255, 0, 0, 255 }, mirrored.Pixels);
        var ccw = ImageFile.Orient(src, SKEncodedOrigin.LeftBottom);
        Assert.Equal(new byte[] { 0, 0, 255, 255, 255, 0, 0, 255 }, ccw.Pixels); // blue on top after a counter-clockwise turn
    }

    [Fact]
    public void A_jpeg_decodes_reduced_to_no_less_than_asked_and_reports_its_own_size()
    {
        var path = Path.Combine(TestData.Voc, "JPEGImages", "2011_000003.jpg");
        var bytes = File.ReadAllBytes(path);
        var whole = ImageFile.Decode(bytes, path);

        var reduced = ImageFile.DecodeAtLeast(bytes, path, 128);

        Assert.Equal((whole.Width, whole.Height), (reduced.Width, reduced.Height));
        Assert.True(Math.Min(reduced.Pixels.Width, reduced.Pixels.Height) >= 128, $"{reduced.Pixels.Width}x{reduced.Pixels.Height}");
        Assert.True(reduced.Pixels.Width * 2 <= whole.Width, $"{reduced.Pixels.Width}x{reduced.Pixels.Height} is not reduced from {whole.Width}x{whole.Height}");
        // The same picture: its average colour matches the whole decode's.
        for (int c = 0; c < 3; c++)
            Assert.InRange(MeanChannel(reduced.Pixels, c) - MeanChannel(whole, c), -2.0, 2.0);

        // Asked for nothing (0), for more than the photo has, or not a JPEG: decoded whole.
        Assert.Equal(whole.Pixels, ImageFile.DecodeAtLeast(bytes, path, 0).Pixels.Pixels);
        Assert.Equal(whole.Pixels, ImageFile.DecodeAtLeast(bytes, path, 4000).Pixels.Pixels);
        var png = Path.Combine(TestData.TempDir(), "p.png");
        ImageFile.WritePng(png, whole);
        Assert.Equal(whole.Pixels, ImageFile.DecodeAtLeast(File.ReadAllBytes(png), png, 16).Pixels.Pixels);
    }

    [Fact]
    public void A_reduced_jpeg_with_an_exif_turn_reports_its_upright_size()
    {
        // 320x200, stored sideways: EXIF orientation 6 (the viewer turns it clockwise) makes it 200 wide, 320 high.
        var path = Path.Combine(TestData.TempDir(), "stored.jpg");
        BatchFixtures.Encode(path, TestData.Blocks(320, 200, (0, 0, 160, 200), (250, 20, 20), (20, 20, 250)));
        var jpeg = TestData.WithExifOrientation(File.ReadAllBytes(path), 6);

        var reduced = ImageFile.DecodeAtLeast(jpeg, "turned.jpg", 50);

        Assert.Equal((200, 320), (reduced.Width, reduced.Height));
        Assert.True(reduced.Pixels.Height > reduced.Pixels.Width && reduced.Pixels.Width < 200, $"{reduced.Pixels.Width}x{reduced.Pixels.Height}");
        var whole = ImageFile.Decode(jpeg, "turned.jpg");
        Assert.Equal((200, 320), (whole.Width, whole.Height));
        Assert.True(reduced.Pixels.Pixels[0] > 200, "the red half is on top after the clockwise turn");
    }

    static double MeanChannel(RgbaImage image, int channel)
    {
        double sum = 0;
        for (int i = channel; i < image.Pixels.Length; i += 4) sum += image.Pixels[i];
        return sum / (image.Width * image.Height);
    }

    [Fact]
    public void Bad_files_fail_with_the_file_named()
    {
        var dir = TestData.TempDir();
        var empty = Path.Combine(dir, "empty.png");
        File.WriteAllBytes(empty, []);
        Assert.Contains("empty.png: empty file", Assert.Throws<InvalidDataException>(() => ImageFile.Read(empty)).Message);

        var good = Path.Combine(TestData.Voc, "JPEGImages", "2011_000003.jpg");
        var truncated = Path.Combine(dir, "truncated.jpg");
        File.WriteAllBytes(truncated, File.ReadAllBytes(good)[..4000]);
        Assert.Contains("truncated.jpg", Assert.Throws<InvalidDataException>(() => ImageFile.Read(truncated)).Message);

        var garbage = Path.Combine(dir, "garbage.png");
        File.WriteAllBytes(garbage, [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 7))]);
        Assert.Contains("garbage.png", Assert.Throws<InvalidDataException>(() => ImageFile.Read(garbage)).Message);

        var shortPpm = Path.Combine(dir, "short.ppm");
        File.WriteAllBytes(shortPpm, [.. "P6 4 4 255\n"u8.ToArray(), 1, 2, 3]);
        Assert.Contains("short.ppm: truncated", Assert.Throws<InvalidDataException>(() => ImageFile.Read(shortPpm)).Message);
    }
}
