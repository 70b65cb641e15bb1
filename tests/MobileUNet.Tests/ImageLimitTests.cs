using System.Buffers.Binary;
using System.IO.Compression;
using MobileUNet.Data;

namespace MobileUNet.Tests;

/// <summary>
/// Untrusted images are bounded before decoding. The first case once killed the process with SIGSEGV: a 9.6 KB
/// PNG claiming 65536 x 16384 pixels, whose buffer was sized by Skia's wrapping int BytesSize.
/// </summary>
public class ImageLimitTests
{
    /// <summary>A PNG whose IHDR claims width x height RGB, with a small zlib stream of zero rows (the repro).</summary>
    internal static byte[] BombPng(int width, int height, int rows = 50)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; ihdr[9] = 2;
        Chunk(ms, "IHDR", ihdr);
        using (var z = new MemoryStream())
        {
            using (var zlib = new ZLibStream(z, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var row = new byte[1 + (long)width * 3 <= 1 << 20 ? 1 + width * 3 : 1 << 20];
                for (int r = 0; r < rows; r++) zlib.Write(row);
            }
            Chunk(ms, "IDAT", z.ToArray());
        }
        Chunk(ms, "IEND", []);
        return ms.ToArray();

        static void Chunk(Stream s, string type, byte[] data)
        {
            var head = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
            System.Text.Encoding.ASCII.GetBytes(type, head.AsSpan(4));
            s.Write(head);
            s.Write(data);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32([.. head.AsSpan(4).ToArray(), .. data]));
            s.Write(crc);
        }

        // PNG's CRC-32 (ISO-HDLC, reflected 0xEDB88320), bitwise: tiny inputs, no table needed.
        static uint Crc32(byte[] bytes)
        {
            uint c = 0xFFFFFFFF;
            foreach (var b in bytes)
            {
                c ^= b;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }
            return ~c;
        }
    }

    [Theory]
    [InlineData(65536, 16384)] // 4 x 2^30 bytes of RGBA: the int BytesSize wraps to 0
    [InlineData(30000, 30000)] // once "Arithmetic operation resulted in an overflow."
    [InlineData(20000, 20000)] // valid-sized but 400 MP: once 5.3 GB and 28 s
    public void Png_claiming_too_many_pixels_is_refused_from_its_header_naming_the_file(int width, int height)
    {
        var path = Path.Combine(TestData.TempDir(), "bomb.png");
        File.WriteAllBytes(path, BombPng(width, height));
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
