using System.Buffers.Binary;
using System.Diagnostics;
using MobileUNet.Data;
using MobileUNet.Inference;
using MobileUNet.Model;

namespace MobileUNet.Tests;

/// <summary>
/// Time-boxed, seeded fuzzing of the readers that take files from users: mutated PNG, JPEG, WebP, BMP and PPM
/// files into the image decoder, mutated .munet and .onnx files into the model loaders, all in-process. The rule:
/// no crash, memory under a bound, and either a valid result or a clear error (InvalidDataException /
/// ImageTooLargeException, message naming the input). The seed is fixed (MUNET_FUZZ_SEED overrides it), so a
/// failure repeats; its input is written to a temp file whose path the failure names, to be committed under
/// Fixtures/fuzz/, which the regression theory below replays on every run.
/// </summary>
public class FuzzTests
{
    static readonly TimeSpan ImageBudget = TimeSpan.FromSeconds(12), ModelBudget = TimeSpan.FromSeconds(10);
    const long MemoryBound = 3L * 1024 * 1024 * 1024;

    static int Seed => int.TryParse(Environment.GetEnvironmentVariable("MUNET_FUZZ_SEED"), out var s) ? s : 13;

    static string FuzzFixtures => Path.Combine(AppContext.BaseDirectory, "Fixtures", "fuzz");

    // The fuzz checks decoding with a smaller pixel limit than the default, to spend its time on variety rather
    // than on allocating 100 MP buffers for headers that claim them (the limit itself has its own tests).
    static readonly ImageLimits FuzzLimits = ImageLimits.WithMaxPixels(4_000_000);

    static IEnumerable<(string Name, byte[] Bytes)> ImageSeeds()
    {
        var dir = TestData.TempDir();
        var png = Path.Combine(dir, "s.png");
        ImageFile.WritePng(png, TestData.Blocks(24, 16, (4, 4, 8, 8), (250, 10, 10), (10, 10, 200)));
        yield return ("png", File.ReadAllBytes(png));
        yield return ("palette-png", File.ReadAllBytes(Directory.GetFiles(Path.Combine(TestData.Voc, "SegmentationClassPNG"))[0]));
        yield return ("jpeg", File.ReadAllBytes(Directory.GetFiles(Path.Combine(TestData.Voc, "JPEGImages"))[0]));
        yield return ("webp", File.ReadAllBytes(Directory.GetFiles(TestData.Cutouts, "*.webp").OrderBy(f => new FileInfo(f).Length).First()));
        yield return ("bmp", Bmp(8, 6));
        yield return ("ppm-p6", [.. "P6\n4 3\n255\n"u8, .. Enumerable.Range(0, 36).Select(i => (byte)(i * 7))]);
        yield return ("ppm-p3", "P3\n2 2\n255\n1 2 3 4 5 6 7 8 9 10 11 12\n"u8.ToArray());
        yield return ("pgm-p5-16bit", [.. "P5\n2 2\n65535\n"u8, .. Enumerable.Range(0, 8).Select(i => (byte)(i * 31))]);
    }

    /// <summary>A 24-bit bottom-up BMP, written by hand (Skia encodes no BMP).</summary>
    static byte[] Bmp(int w, int h)
    {
        int row = (w * 3 + 3) & ~3, size = 54 + row * h;
        var b = new byte[size];
        b[0] = (byte)'B'; b[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(2), size);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(18), w);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(22), h);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(28), 24);
        for (int i = 54; i < size; i++) b[i] = (byte)(i * 13);
        return b;
    }

    /// <summary>One mutation of <paramref name="seed"/>: byte flips, header overwrites with extreme values, truncation, splices.</summary>
    static byte[] Mutate(byte[] seed, Random rng, int headerBytes)
    {
        var b = (byte[])seed.Clone();
        switch (rng.Next(7))
        {
            case 0: // a few random bytes anywhere
                for (int i = rng.Next(1, 9); i > 0; i--) b[rng.Next(b.Length)] = (byte)rng.Next(256);
                break;
            case 1: // header bytes to extremes (sizes, counts, offsets)
                for (int i = rng.Next(1, 5); i > 0; i--)
                {
                    int at = rng.Next(Math.Min(headerBytes, b.Length));
                    b[at] = rng.Next(3) switch { 0 => 0xFF, 1 => 0x00, _ => 0x7F };
                }
                break;
            case 2: // a 32-bit field in the header set to a big or negative number
                if (b.Length >= 4)
                {
                    int at = rng.Next(Math.Max(1, Math.Min(headerBytes, b.Length) - 3));
                    int value = rng.Next(4) switch { 0 => int.MaxValue, 1 => -1, 2 => 65536, _ => rng.Next() };
                    if (rng.Next(2) == 0) BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(at), value);
                    else BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(at), value);
                }
                break;
            case 3: // truncated
                return b[..rng.Next(b.Length)];
            case 4: // a block duplicated
                {
                    int from = rng.Next(b.Length), len = rng.Next(1, Math.Min(256, b.Length - from) + 1);
                    int to = rng.Next(b.Length);
                    return [.. b[..to], .. b.AsSpan(from, len), .. b[to..]];
                }
            case 5: // PNG only: IHDR width/height made huge with a valid CRC, so the decoder believes them
                if (b.Length > 33 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G')
                {
                    BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(16), rng.Next(1, 1 << 17));
                    BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(20), rng.Next(1, 1 << 17));
                    BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(29), Crc32(b.AsSpan(12, 17)));
                }
                else b[rng.Next(b.Length)] ^= 0x80;
                break;
            default: // a run of bytes zeroed
                {
                    int from = rng.Next(b.Length), len = rng.Next(1, Math.Min(64, b.Length - from) + 1);
                    Array.Clear(b, from, len);
                }
                break;
        }
        return b;
    }

    /// <summary>The CRC-32 PNG chunks carry (over type and data).</summary>
    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var d in data)
        {
            crc ^= d;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }

    static string Keep(string name, byte[] bytes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"munet-fuzz-{name}");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static void AssertMemoryBounded(string name, byte[] bytes)
    {
        using var self = Process.GetCurrentProcess();
        if (self.WorkingSet64 > MemoryBound)
            Assert.Fail($"{name}: working set {self.WorkingSet64:N0} bytes over the bound; input kept at {Keep(name, bytes)}");
    }

    [Fact]
    public void Mutated_images_decode_or_fail_with_a_clear_error()
    {
        var rng = new Random(Seed);
        var seeds = ImageSeeds().ToList();
        var clock = Stopwatch.StartNew();
        int cases = 0;
        while (clock.Elapsed < ImageBudget)
        {
            var (kind, seed) = seeds[cases % seeds.Count];
            var bytes = Mutate(seed, rng, headerBytes: 64);
            var name = $"case{cases}-{kind}.bin";
            try
            {
                var image = ImageFile.Decode(bytes, name, FuzzLimits);
                Assert.True(image.Width > 0 && image.Height > 0 && image.Pixels.Length == 4L * image.Width * image.Height, $"{name}: inconsistent image");
            }
            catch (Exception e) when (e is InvalidDataException or ImageTooLargeException)
            {
                Assert.True(e.Message.Contains(name, StringComparison.Ordinal), $"{name}: error does not name the input: {e.Message}");
            }
            catch (Exception e)
            {
                Assert.Fail($"{name} (seed {Seed}): {e.GetType().Name}: {e.Message}; input kept at {Keep(name, bytes)}");
            }
            AssertMemoryBounded(name, bytes);
            cases++;
        }
        Assert.True(cases >= seeds.Count, $"only {cases} cases in {ImageBudget}");
    }

    [Fact]
    public void Mutated_model_files_load_or_fail_with_a_clear_error()
    {
        Torch.EnsureReady();
        var dir = TestData.TempDir();
        var munetPath = Path.Combine(dir, "seed.munet");
        byte[] onnx;
        using (var model = new Model.MobileUNet(new ModelSpec(0.25, 32)))
        {
            WeightsFile.Save(model, munetPath, Training.Checkpoint.Extra(Normalization.ImageNet, null));
            onnx = Export.OnnxExporter.ToBytes(model);
        }
        // Most of a model file is weights; the header and graph structure are where a reader can go wrong.
        FuzzReader(dir, [("munet", File.ReadAllBytes(munetPath), 2048), ("onnx", onnx, 4096)], (kind, path) =>
        {
            if (kind == "munet") WeightsFile.Load(path).Model.Dispose();
            else OnnxSegmenter.Open(path).Dispose();
        });
    }

    [Fact]
    public void Mutated_tflite_files_import_or_fail_with_a_clear_error()
    {
        var seed = File.ReadAllBytes(Teachers.Selfie);
        FuzzReader(TestData.TempDir(), [("tflite", seed, seed.Length)], (_, path) =>
        {
            // Importing is reading: a mutated file either converts to a model ONNX Runtime opens, or fails clearly.
            var (proto, _) = Export.Tflite.TfliteImporter.Convert(path);
            OnnxSegmenter.FromBytes(Google.Protobuf.MessageExtensions.ToByteArray(proto), path).Dispose();
        });
    }

    /// <summary>
    /// Feeds mutations of each seed file (cycling through them, the first <c>HeaderBytes</c> mutated) to
    /// <paramref name="read"/> for the model budget: it must succeed or throw an <see cref="InvalidDataException"/>
    /// naming the file, within the memory bound; any other outcome keeps the input as a regression file.
    /// </summary>
    static void FuzzReader(string dir, (string Kind, byte[] Bytes, int HeaderBytes)[] seeds, Action<string, string> read)
    {
        var rng = new Random(Seed);
        var clock = Stopwatch.StartNew();
        int cases = 0;
        while (clock.Elapsed < ModelBudget)
        {
            var (kind, seed, headerBytes) = seeds[cases % seeds.Length];
            var bytes = Mutate(seed, rng, headerBytes);
            var path = Path.Combine(dir, $"case{cases}.{kind}");
            File.WriteAllBytes(path, bytes);
            try
            {
                read(kind, path);
            }
            catch (InvalidDataException e)
            {
                Assert.True(e.Message.Contains(path, StringComparison.Ordinal), $"{path}: error does not name the file: {e.Message}");
            }
            catch (Exception e)
            {
                Assert.Fail($"{path} (seed {Seed}): {e.GetType().Name}: {e.Message}; input kept at {Keep(Path.GetFileName(path), bytes)}");
            }
            AssertMemoryBounded(path, bytes);
            File.Delete(path);
            cases++;
        }
        Assert.True(cases >= 2, $"only {cases} cases in {ModelBudget}");
    }

    public static TheoryData<string> RegressionFiles() =>
        [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "fuzz")).Where(f => !f.EndsWith(".md", StringComparison.Ordinal)).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(RegressionFiles))]
    public void Kept_crash_inputs_give_a_clear_error_naming_the_file(string file)
    {
        var path = Path.Combine(FuzzFixtures, file);
        Exception e = Path.GetExtension(file) switch
        {
            ".munet" => Assert.Throws<InvalidDataException>(() => WeightsFile.Load(path).Model.Dispose()),
            ".onnx" => Assert.Throws<InvalidDataException>(() => OnnxSegmenter.Open(path).Dispose()),
            _ => Assert.ThrowsAny<Exception>(() => ImageFile.Read(path)),
        };
        Assert.True(e is InvalidDataException or ImageTooLargeException, e.ToString());
        Assert.Contains(path, e.Message);
    }
}
