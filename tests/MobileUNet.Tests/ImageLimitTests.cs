using MobileUNet.Data;

namespace MobileUNet.Tests;

/// <summary>
/// Untrusted images are bounded before decoding. The first case once killed the process with SIGSEGV: a 9.6 KB
/// PNG claiming 65536 x 16384 pixels, whose buffer was sized by Skia's wrapping int BytesSize.
/// </summary>
public class ImageLimitTests
{
    [Theory]
    [InlineData(65536, 16384)] // 4 x 2^30 bytes of RGBA: the int BytesSize wraps to 0
    [InlineData(30000, 30000)] // once "Arithmetic operation resulted in an overflow."
    [InlineData(20000, 20000)] // valid-sized but 400 MP: once 5.3 GB and 28 s
    public void Png_claiming_too_many_pixels_is_refused_from_its_header_naming_the_file(int width, int height)
    {
        var path = Path.Combine(TestData.TempDir(), "bomb.png");
        File.WriteAllBytes(path, CraftedPng.Bomb(width, height));
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var error = Assert.Throws<ImageTooLargeException>(() => ImageFile.Read(path));
        Assert.StartsWith(path + ":", error.Message);
        Assert.Contains($"{width}x{height}", error.Message);
        Assert.Contains("pixel limit", error.Message);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64L << 20, "the refusal must not allocate the claimed buffer");
    }

    [Fact]
    public void Pixel_limit_is_adjustable_and_counts_in_64_bits()
    {
        var path = Path.Combine(TestData.TempDir(), "small.png");
        ImageFile.WritePng(path, TestData.Blocks(40, 30, (0, 0, 10, 10), (255, 0, 0), (0, 0, 255)));
        Assert.Equal(40, ImageFile.Read(path, ImageLimits.WithMaxPixels(1200)).Width);
        Assert.Throws<ImageTooLargeException>(() => ImageFile.Read(path, ImageLimits.WithMaxPixels(1199)));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageLimits.WithMaxPixels(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageLimits.WithMaxPixels(long.MaxValue));
    }

    [Theory]
    [InlineData("P3\n99999 99999\n255\n1 2 3\n")] // once "Index was outside the bounds of the array."
    [InlineData("P6\n4294967296 2\n255\n")]        // a width past int: a clear error, not a wrapped size
    public void Ppm_with_a_huge_header_is_refused_naming_the_file(string header)
    {
        var path = Path.Combine(TestData.TempDir(), "huge.ppm");
        File.WriteAllText(path, header);
        var error = Assert.ThrowsAny<Exception>(() => ImageFile.Read(path));
        Assert.True(error is InvalidDataException or ImageTooLargeException, error.GetType().Name);
        Assert.StartsWith(path + ":", error.Message);
    }

    [Theory]
    [InlineData("heic", "HEIC")]
    [InlineData("mif1", "HEIC")]
    [InlineData("avif", "AVIF")]
    public void Phone_formats_get_an_error_that_names_the_format(string brand, string format)
    {
        var path = Path.Combine(TestData.TempDir(), "IMG_0001." + brand);
        var bytes = new byte[64];
        bytes[3] = 24;
        System.Text.Encoding.ASCII.GetBytes("ftyp" + brand, bytes.AsSpan(4));
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<InvalidDataException>(() => ImageFile.Read(path));
        Assert.StartsWith(path + ":", error.Message);
        Assert.Contains(format, error.Message);
    }

    [Fact]
    public void A_folder_given_as_an_image_is_named_as_a_folder()
    {
        var dir = TestData.TempDir();
        var error = Assert.Throws<InvalidDataException>(() => ImageFile.Read(dir));
        Assert.Contains("is a folder", error.Message);
    }
}
