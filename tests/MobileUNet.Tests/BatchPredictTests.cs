using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MobileUNet.Batch;
using MobileUNet.Data;
using MobileUNet.Inference;
using MobileUNet.Model;
using SkiaSharp;

namespace MobileUNet.Tests;

/// <summary>Photos made from the embedded backgrounds (real JPEG/PNG files) and a small untrained ONNX model.</summary>
public static class BatchFixtures
{
    static readonly Lazy<string> OnnxModel = new(() =>
    {
        var (bytes, _) = new ModelSource.Untrained(new ModelSpec(0.25, 32), Seed: 3).OnnxBytes();
        var path = Path.Combine(TestData.TempDir(), "tiny.onnx");
        File.WriteAllBytes(path, bytes);
        return path;
    });

    public static string Model => OnnxModel.Value;

    /// <summary>Writes <paramref name="count"/> photos of w x h (backgrounds in turn, so neighbours differ) as NAME{i}.EXT.</summary>
    public static List<string> WritePhotos(string dir, int count, int w, int h, string ext = ".jpg", string prefix = "photo", int distinct = 12)
    {
        Directory.CreateDirectory(dir);
        var backgrounds = Directory.GetFiles(TestData.Backgrounds, "*.jpg").Order(StringComparer.Ordinal).ToArray();
        var made = new List<string>();
        for (int i = 0; i < count; i++)
        {
            var path = Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"{prefix}{i:D3}{ext}"));
            if (i >= distinct) File.Copy(made[i % distinct], path); // large sets: copies of a few real encodes
            else Encode(path, ImageFile.Read(backgrounds[i % backgrounds.Length]).Resize(w, h));
            made.Add(path);
        }
        return made;
    }

    public static void Encode(string path, RgbaImage image)
    {
        if (Path.GetExtension(path) == ".png") { ImageFile.WritePng(path, image); return; }
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(image.Pixels, System.Runtime.InteropServices.GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            using var data = pixmap.Encode(SKEncodedImageFormat.Jpeg, 90)!;
            File.WriteAllBytes(path, data.ToArray());
        }
        finally { handle.Free(); }
    }

    public static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MobileUNet.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        return Process.Start(info)!;
    }

    public static List<ManifestEntry> Manifest(string outDir) => BatchManifest.ReadFolder(outDir).ToList();

    /// <summary>Every visible (non-temp) output file in the folder decodes: no partial file was ever exposed.</summary>
    public static void AssertOutputsWhole(string outDir)
    {
        foreach (var file in Directory.EnumerateFiles(outDir, "*.png", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith('.')))
            ImageFile.Read(file);
    }
}

/// <summary>Streaming `predict` through the real program: skipping, naming, lists, resume, shards, memory.</summary>
public class BatchPredictTests
{
    static string Model => BatchFixtures.Model;

    [Fact]
    public void Bad_files_are_skipped_with_one_stderr_line_each_and_a_non_zero_exit()
    {
        var input = TestData.TempDir();
        BatchFixtures.WritePhotos(input, 3, 64, 48);
        var good = File.ReadAllBytes(Path.Combine(input, "photo000.jpg"));
        File.WriteAllBytes(Path.Combine(input, "truncated.jpg"), good[..(good.Length / 3)]);
        File.WriteAllBytes(Path.Combine(input, "empty.png"), []);
        File.WriteAllText(Path.Combine(input, "text.png"), "not an image at all");
        var outDir = Path.Combine(TestData.TempDir(), "out");

        var r = Cli.Run("predict", "-m", Model, input, "-o", outDir);

        Assert.Equal(1, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.StartsWith("skipped ", l));
        foreach (var bad in new[] { "truncated.jpg", "empty.png", "text.png" })
        {
            Assert.Single(lines, l => l.Contains(bad, StringComparison.Ordinal));
            Assert.Contains($"failed: {Path.Combine(input, bad)}", r.Stdout, StringComparison.Ordinal);
        }
        Assert.Contains("predicted 3, already done 0, failed 3 of 6", r.Stdout, StringComparison.Ordinal);
        for (int i = 0; i < 3; i++)
            foreach (var kind in new[] { "mask", "overlay" })
                Assert.True(File.Exists(Path.Combine(outDir, $"photo00{i}.jpg.{kind}.png")));
        var manifest = BatchFixtures.Manifest(outDir);
        Assert.Equal(6, manifest.Count);
        Assert.Equal(3, manifest.Count(e => e.Error is not null));
        Assert.All(manifest.Where(e => e.Succeeded), e => Assert.InRange(e.ForegroundFraction!.Value, 0, 1));

        // The good photos are done: a rerun redoes only the bad ones (and they fail again).
        var again = Cli.Run("predict", "-m", Model, input, "-o", outDir);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("predicted 0, already done 3, failed 3 of 6", again.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Photos_that_share_a_stem_or_a_name_each_get_their_own_results()
    {
        var a = TestData.TempDir();
        var b = TestData.TempDir();
        var backgrounds = Directory.GetFiles(TestData.Backgrounds, "*.jpg").Order(StringComparer.Ordinal).ToArray();
        BatchFixtures.Encode(Path.Combine(a, "photo.png"), ImageFile.Read(backgrounds[0]).Resize(80, 60));
        BatchFixtures.Encode(Path.Combine(a, "photo.jpg"), ImageFile.Read(backgrounds[1]).Resize(70, 50));
        BatchFixtures.Encode(Path.Combine(b, "photo.jpg"), ImageFile.Read(backgrounds[2]).Resize(90, 40));
        var outDir = Path.Combine(TestData.TempDir(), "out");

        var r = Cli.Run("predict", "-m", Model, a, b, "-o", outDir, "--output-kind", "mask");

        Assert.True(r.ExitCode == 0, r.Stderr);
        var masks = Directory.GetFiles(outDir, "*.mask.png").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(3, masks.Count);
        Assert.Contains("photo.png.mask.png", masks);
        // Two folders both hold photo.jpg: each name gets a hash of its full path, the same in every run.
        var hashed = masks.Where(m => m!.StartsWith("photo.jpg~", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, hashed.Count);
        var sizes = hashed.Select(m => ImageFile.Read(Path.Combine(outDir, m!))).Select(i => (i.Width, i.Height)).ToHashSet();
        Assert.Equal([(70, 50), (90, 40)], sizes.Order());
        var listed = PhotoList.Expand([a, b]);
        Assert.Equal(listed.Select(p => p.Key + ".mask.png").Order(StringComparer.Ordinal), masks);
    }

    [Fact]
    public void List_file_takes_paths_relative_to_itself_and_keeps_their_folders()
    {
        var root = TestData.TempDir();
        BatchFixtures.WritePhotos(Path.Combine(root, "shop", "shoes"), 2, 64, 48);
        var elsewhere = BatchFixtures.WritePhotos(TestData.TempDir(), 1, 48, 64, prefix: "abs");
        var list = Path.Combine(root, "photos.txt");
        File.WriteAllLines(list, ["# catalogue", "shop/shoes/photo000.jpg", "", "./shop/shoes/photo001.jpg", elsewhere[0]]);
        var outDir = Path.Combine(TestData.TempDir(), "out");

        var r = Cli.Run("predict", "-m", Model, "--list", list, "-o", outDir, "--output-kind", "mask,json");

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(File.Exists(Path.Combine(outDir, "shop", "shoes", "photo000.jpg.mask.png")));
        Assert.True(File.Exists(Path.Combine(outDir, "shop", "shoes", "photo001.jpg.mask.png")));
        Assert.True(File.Exists(Path.Combine(outDir, "abs000.jpg.mask.png")));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "abs000.jpg.json")));
        Assert.Equal(48, json.RootElement.GetProperty("width").GetInt32());
        Assert.Equal(64, json.RootElement.GetProperty("height").GetInt32());
        Assert.Equal(3, BatchFixtures.Manifest(outDir).Count);
    }

    [Fact]
    public void Cutout_carries_the_matte_as_alpha_and_the_photo_as_colour()
    {
        var input = TestData.TempDir();
        var photo = BatchFixtures.WritePhotos(input, 1, 96, 64, ext: ".png")[0];
        var outDir = Path.Combine(TestData.TempDir(), "out");

        var r = Cli.Run("predict", "-m", Model, photo, "-o", outDir, "--output-kind", "cutout,matte,overlay");

        Assert.True(r.ExitCode == 0, r.Stderr);
        var source = ImageFile.Read(photo);
        var cutout = ImageFile.Read(Path.Combine(outDir, "photo000.png.cutout.png"));
        var matte = ImageFile.Read(Path.Combine(outDir, "photo000.png.matte.png"));
        Assert.Contains(Enumerable.Range(0, 96 * 64), i => matte.Pixels[i * 4] is > 0 and < 255);
        for (int i = 0; i < 96 * 64; i++)
        {
            Assert.Equal(matte.Pixels[i * 4], cutout.Pixels[i * 4 + 3]);
            // Colour kept wherever alpha leaves it defined (the PNG encoder may drop colour under alpha 0).
            if (cutout.Pixels[i * 4 + 3] > 0) Assert.Equal(source.Pixels[i * 4 + 1], cutout.Pixels[i * 4 + 1]);
        }
    }

    [Fact]
    public void A_phone_photo_with_exif_rotation_is_segmented_upright()
    {
        var input = TestData.TempDir();
        var stored = Path.Combine(input, "stored.jpg");
        BatchFixtures.Encode(stored, ImageFile.Read(Directory.GetFiles(TestData.Backgrounds, "*.jpg").Order(StringComparer.Ordinal).First()).Resize(64, 48));
        // EXIF orientation 6 (RightTop: turn 90 degrees clockwise), as phones write portrait shots.
        var photo = Path.Combine(input, "portrait.jpg");
        File.WriteAllBytes(photo, TestData.WithExifOrientation(File.ReadAllBytes(stored), 6));
        File.Delete(stored);
        var outDir = Path.Combine(TestData.TempDir(), "out");

        var r = Cli.Run("predict", "-m", Model, photo, "-o", outDir, "--output-kind", "mask,cutout");

        Assert.True(r.ExitCode == 0, r.Stderr);
        var upright = ImageFile.Read(photo);
        Assert.Equal((48, 64), (upright.Width, upright.Height));
        var cutout = ImageFile.Read(Path.Combine(outDir, "portrait.jpg.cutout.png"));
        Assert.Equal((48, 64), (cutout.Width, cutout.Height));
        for (int i = 0; i < 48 * 64; i++)
            if (cutout.Pixels[i * 4 + 3] > 0) Assert.Equal(upright.Pixels[i * 4], cutout.Pixels[i * 4]);
    }

    [Fact]
    public void A_run_killed_with_sigkill_resumes_and_finishes_every_photo()
    {
        const int count = 120;
        var input = TestData.TempDir();
        BatchFixtures.WritePhotos(input, count, 320, 240);
        var outDir = Path.Combine(TestData.TempDir(), "out");
        string[] args = ["predict", "-m", Model, input, "-o", outDir, "--workers", "1", "--batch", "1"];

        using (var first = BatchFixtures.Start(args))
        {
            var manifest = Path.Combine(outDir, "manifest-0-of-1.jsonl");
            var deadline = Stopwatch.StartNew();
            while (!first.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(60)
                   && (!File.Exists(manifest) || File.ReadAllLines(manifest).Length < 5))
                Thread.Sleep(10);
            Assert.False(first.HasExited, "the first run ended before it could be killed");
            first.Kill(); // SIGKILL: no handler runs, no cleanup
            first.WaitForExit();
        }
        int recorded = BatchFixtures.Manifest(outDir).Count(e => e.Succeeded);
        Assert.InRange(recorded, 5, count - 1);
        BatchFixtures.AssertOutputsWhole(outDir);

        var second = Cli.Run(args);

        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains($"already done {recorded}", second.Stdout, StringComparison.Ordinal);
        var done = BatchFixtures.Manifest(outDir).Where(e => e.Succeeded).Select(e => e.Input).ToList();
        Assert.Equal(count, done.Distinct().Count());
        Assert.Equal(count * 2, Directory.GetFiles(outDir, "*.png").Count(f => !Path.GetFileName(f).StartsWith('.')));
        BatchFixtures.AssertOutputsWhole(outDir);
    }

    [Fact]
    public async Task Shards_run_in_parallel_write_every_output_exactly_once()
    {
        const int shards = 4, count = 30;
        var input = TestData.TempDir();
        var photos = BatchFixtures.WritePhotos(input, count, 80, 60);
        var outDir = Path.Combine(TestData.TempDir(), "out");

        var runs = Enumerable.Range(0, shards)
            .Select(k => BatchFixtures.Start("predict", "-m", Model, input, "-o", outDir, "--shard", $"{k}/{shards}", "--workers", "1"))
            .ToList();
        foreach (var p in runs)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.True(p.ExitCode == 0, await stderr);
            p.Dispose();
        }

        var perShard = Enumerable.Range(0, shards)
            .Select(k => BatchManifest.Read(Path.Combine(outDir, $"manifest-{k}-of-{shards}.jsonl")).Select(e => e.Input).ToList()).ToList();
        Assert.All(perShard, s => Assert.InRange(s.Count, count / shards, count / shards + 1));
        var all = perShard.SelectMany(s => s).ToList();
        Assert.Equal(count, all.Count);
        Assert.Equal(photos.Select(Path.GetFullPath).Order(StringComparer.Ordinal), all.Order(StringComparer.Ordinal));
        var expected = photos.SelectMany(p => new[] { Path.GetFileName(p) + ".mask.png", Path.GetFileName(p) + ".overlay.png" });
        Assert.Equal(expected.Order(StringComparer.Ordinal), Directory.GetFiles(outDir, "*.png").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Memory_stays_bounded_over_a_folder_of_many_large_photos()
    {
        // 24 photos of 2400 x 1600 (3.84 MP): 369 MB of RGBA alone if they were all held at once, as the old
        // predict did. Streaming with a 64 MB budget holds two or three at a time.
        const int count = 24, w = 2400, h = 1600;
        var input = TestData.TempDir();
        BatchFixtures.WritePhotos(input, count, w, h, distinct: 3);
        var outDir = Path.Combine(TestData.TempDir(), "out");

        using var p = BatchFixtures.Start("predict", "-m", Model, input, "-o", outDir, "--memory-budget", "64", "--output-kind", "mask,overlay");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        long peakKb = 0;
        while (!p.HasExited)
        {
            peakKb = Math.Max(peakKb, PeakRssKb(p.Id));
            await Task.Delay(20);
        }
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, await stderr);
        Assert.Contains($"predicted {count}", await stdout, StringComparison.Ordinal);
        // Runtime, ONNX Runtime and Skia take about 150-250 MB here; the bound leaves margin above that and stays
        // below what holding every photo would take (369 MB of pixels plus the same runtime).
        Assert.InRange(peakKb, 1, 450 * 1024);
    }

    /// <summary>VmHWM (peak resident set) from /proc: the high-water mark, so polling cannot miss a peak.</summary>
    static long PeakRssKb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (IOException) { return 0; }
    }
}

/// <summary>The library pieces of batch predict, in process.</summary>
public class PhotoListTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public void Shards_never_overlap_and_together_are_the_whole_list(int n)
    {
        var dir = TestData.TempDir();
        for (int i = 0; i < 20; i++) File.WriteAllBytes(Path.Combine(dir, $"f{(i * 7919) % 101}.jpg"), []);
        var all = PhotoList.Expand([dir]);
        var slices = Enumerable.Range(0, n).Select(k => PhotoList.Slice(all, new Shard(k, n))).ToList();
        Assert.Equal(all.Count, slices.Sum(s => s.Count));
        Assert.Equal(all.Select(p => p.Path).Order(StringComparer.Ordinal), slices.SelectMany(s => s).Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.All(slices, s => Assert.InRange(s.Count, all.Count / n, all.Count / n + 1));
        // Deterministic: listing again gives the same slices.
        Assert.Equal(slices[0], PhotoList.Slice(PhotoList.Expand([dir]), new Shard(0, n)));
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("3/4", 3, 4)]
    public void Shard_parses_zero_based(string text, int k, int n) => Assert.Equal(new Shard(k, n), Shard.Parse(text));

    [Theory]
    [InlineData("4/4")]
    [InlineData("1/0")]
    [InlineData("-1/4")]
    [InlineData("1")]
    [InlineData("a/b")]
    public void Bad_shards_are_refused(string text) => Assert.Throws<ArgumentException>(() => Shard.Parse(text));

    [Fact]
    public void Output_kinds_parse_comma_separated_and_refuse_unknown_names()
    {
        Assert.Equal(PhotoOutputKind.Mask | PhotoOutputKind.Cutout | PhotoOutputKind.Json, PhotoOutputs.Parse("mask, Cutout,json"));
        Assert.Throws<ArgumentException>(() => PhotoOutputs.Parse("mask,alpha"));
        Assert.Throws<ArgumentException>(() => PhotoOutputs.Parse("3"));
        Assert.Equal("photo.jpg.cutout.webp", PhotoOutputs.RelativePath("photo.jpg", PhotoOutputKind.Cutout, CutoutFormat.Webp));
    }

    [Fact]
    public void Globs_match_names_and_double_star_matches_any_depth()
    {
        var root = TestData.TempDir();
        foreach (var f in new[] { "a.jpg", "b.png", "sub/c.jpg", "sub/deeper/d.jpg" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, f))!);
            File.WriteAllBytes(Path.Combine(root, f), []);
        }
        Assert.Equal(["a.jpg"], PhotoList.Expand([Path.Combine(root, "*.jpg")]).Select(p => p.Key));
        Assert.Equal(["a.jpg", "sub/c.jpg", "sub/deeper/d.jpg"], PhotoList.Expand([Path.Combine(root, "**", "*.jpg")]).Select(p => p.Key).Order(StringComparer.Ordinal));
        // The output folder is never read back as input.
        Assert.Equal(["a.jpg", "b.png"], PhotoList.Expand([root + "/*"], exclude: Path.Combine(root, "sub")).Select(p => p.Key));
    }

    [Fact]
    public void A_batch_run_equals_single_runs()
    {
        using var segmenter = OnnxSegmenter.Open(BatchFixtures.Model, new RuntimeOptions { Threads = 1 });
        int s = segmenter.Spec.InputSize, plane = s * s;
        var rng = new Random(5);
        var chw = Enumerable.Range(0, 3 * 3 * plane).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        var batched = new float[3 * plane];
        segmenter.RunBatch(chw, 3, batched);
        for (int i = 0; i < 3; i++)
        {
            var single = new float[plane];
            segmenter.Run(chw.AsSpan(i * 3 * plane, 3 * plane), single);
            Assert.True(OnnxTestSupport.MaxAbsDiff(single, batched[(i * plane)..((i + 1) * plane)]) < 1e-5f);
        }
    }
}
