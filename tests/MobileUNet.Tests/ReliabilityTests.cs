using System.Diagnostics;
using MobileUNet.Data;
using MobileUNet.Evaluation;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Platform;
using MobileUNet.Training;
using TrainSettings = MobileUNet.Cli.Commands.TrainCommand.Settings;

namespace MobileUNet.Tests;

/// <summary>
/// Issue 13's repros, one test each: bad sizes, outputs that are inputs, concurrent runs, partial datasets, stale
/// temps, empty ground truth, typos. Each fails with the code before its fix.
/// </summary>
public class ReliabilityTests
{
    static Lazy<string> TinyModel => TinyMunet.Path;

    static void AssertOneLineError(Cli.Result r, string mustName, int exitCode)
    {
        Assert.True(r.ExitCode == exitCode, $"exit {r.ExitCode}, stderr: {r.Stderr}");
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error:", line);
        Assert.Contains(mustName, line);
    }

    /// <summary>A folder-pairs dataset of <paramref name="count"/> 32x32 photos whose masks hold <paramref name="maskValue"/> in a box (0 elsewhere).</summary>
    static string Pairs(int count, byte maskValue) => Pairs(Enumerable.Repeat(maskValue, count).ToArray());

    /// <summary>One 32x32 pair per value: the mask holds the value in a 16x16 box, 0 elsewhere.</summary>
    static string Pairs(byte[] maskValues)
    {
        var root = TestData.TempDir();
        for (int i = 0; i < maskValues.Length; i++)
        {
            var maskValue = maskValues[i];
            var name = $"{i:D3}.png";
            ImageFile.WritePng(Path.Combine(root, "images", name), TestData.Blocks(32, 32, (8, 8, 16, 16), (200, 50, 50), (20, 20, 90)));
            var mask = new byte[32 * 32];
            for (int y = 8; y < 24; y++) for (int x = 8; x < 24; x++) mask[y * 32 + x] = maskValue;
            ImageFile.WriteGreyPng(Path.Combine(root, "masks", name), 32, 32, mask);
        }
        return root;
    }

    /// <summary>The PID of a process that has exited (so no process has it, barring reuse).</summary>
    static int DeadPid()
    {
        using var p = Process.Start(new ProcessStartInfo("true"))!;
        p.WaitForExit();
        return p.Id;
    }

    // --- item 2: sizes, threads and batches have upper bounds, checked before any work ---

    [Theory]
    [InlineData("--size", "info", "--size", "100000")]
    [InlineData("--size", "train", "--size", "100000")]
    [InlineData("--size", "video", "clip.mp4", "-o", "out.mp4", "--size", "8192")]
    [InlineData("--size", "export", "--untrained", "--size", "4096", "-o", "x.onnx")]
    [InlineData("--threads", "train", "--threads", "999")]
    [InlineData("--threads", "video", "clip.mp4", "-o", "out.mp4", "--threads", "999")]
    [InlineData("--batch", "train", "--batch", "100000")]
    [InlineData("--count", "data", "synth", "-o", "x", "--count", "2000000000")]
    public void Sizes_threads_and_batches_over_the_maxima_are_refused_up_front(string option, params string[] args)
    {
        var clock = Stopwatch.StartNew();
        var r = Cli.Run(args);
        AssertOneLineError(r, option, 2);
        Assert.Contains("must be", r.Stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Model_spec_refuses_input_sizes_over_the_maximum()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModelSpec(0.5, Limits.MaxInputSize + 32));
        Assert.Equal(Limits.MaxInputSize, new ModelSpec(0.5, Limits.MaxInputSize).InputSize);
    }

    // --- item 3: an output that resolves to an input is refused, and the input is untouched ---

    [Fact]
    public void Output_that_resolves_to_an_input_is_refused_and_the_input_is_untouched()
    {
        var dir = TestData.TempDir();
        var model = Path.Combine(dir, "m.munet");
        File.Copy(TinyModel.Value, model);
        var before = File.ReadAllBytes(model);
        var link = Path.Combine(dir, "link.json");
        File.CreateSymbolicLink(link, model);
        var video = Path.Combine(dir, "a.mp4");
        File.WriteAllBytes(video, [1, 2, 3]);

        AssertOneLineError(Cli.Run("export", model, "-o", model), "would destroy the input", 2);
        AssertOneLineError(Cli.Run("eval", "-m", model, "--val-count", "2", "--json", link), "would destroy the input", 2);
        AssertOneLineError(Cli.Run("video", video, "-o", video), "would destroy the input", 2);
        Assert.Equal(before, File.ReadAllBytes(model));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(video));
    }

    [Fact]
    public void Resolve_follows_symlinks_in_every_component()
    {
        var dir = TestData.TempDir();
        Directory.CreateDirectory(Path.Combine(dir, "real"));
        File.WriteAllText(Path.Combine(dir, "real", "f.txt"), "x");
        Directory.CreateSymbolicLink(Path.Combine(dir, "alias"), Path.Combine(dir, "real"));
        var resolvedDir = OutputPaths.Resolve(dir);
        Assert.Equal(Path.Combine(resolvedDir, "real", "f.txt"), OutputPaths.Resolve(Path.Combine(dir, "alias", "f.txt")));
        Assert.Equal(Path.Combine(resolvedDir, "real", "new.txt"), OutputPaths.Resolve(Path.Combine(dir, "alias", "new.txt")));
    }

    // --- item 4: one train run per folder ---

    [Fact]
    public void Second_run_into_a_locked_folder_fails_and_a_stale_lock_is_taken_over()
    {
        var dir = TestData.TempDir();
        using var held = FolderLock.Acquire(dir, "train run");
        var second = Assert.Throws<IOException>(() => FolderLock.Acquire(dir, "train run"));
        Assert.Contains($"PID {Environment.ProcessId}", second.Message);

        var run = Path.Combine(TestData.TempDir(), "run");
        Directory.CreateDirectory(run);
        using (var sleeper = Process.Start(new ProcessStartInfo("sleep", "60"))!)
        {
            File.WriteAllText(Path.Combine(run, FolderLock.FileName), $"{sleeper.Id}\n");
            var r = Cli.Run("train", "-o", run, "--epochs", "1", "--steps", "1", "--batch", "2", "--val-count", "2");
            AssertOneLineError(r, $"PID {sleeper.Id}", 1);
            sleeper.Kill();
            sleeper.WaitForExit();
        }
        File.WriteAllText(Path.Combine(run, FolderLock.FileName), $"{DeadPid()}\n");
        using (var taken = FolderLock.Acquire(run, "train run"))
            Assert.Equal($"{Environment.ProcessId}", File.ReadAllText(taken.Path).Trim());
        Assert.False(File.Exists(Path.Combine(run, FolderLock.FileName)));
    }

    // --- item 5: data synth never mixes datasets and never leaves a partial one ---

    [Fact]
    public void Synth_refuses_a_non_empty_folder_unless_overwrite_and_leaves_no_temp()
    {
        var parent = TestData.TempDir();
        var target = Path.Combine(parent, "set");
        var first = Cli.Run("data", "synth", "-o", target, "--count", "3", "--size", "32");
        Assert.True(first.ExitCode == 0, first.Stderr);
        var second = Cli.Run("data", "synth", "-o", target, "--count", "2", "--size", "32", "--seed", "9");
        AssertOneLineError(second, "not empty", 1);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(target, "images")).Length);
        var replaced = Cli.Run("data", "synth", "-o", target, "--count", "2", "--size", "32", "--seed", "9", "--overwrite");
        Assert.True(replaced.ExitCode == 0, replaced.Stderr);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(target, "images")).Length);
        Assert.Equal(2, Directory.GetFiles(Path.Combine(target, "masks")).Length);
        Assert.Equal(["set"], Directory.GetFileSystemEntries(parent).Select(Path.GetFileName));
    }

    [Fact]
    public void Dataset_folder_is_not_created_when_filling_fails()
    {
        var target = Path.Combine(TestData.TempDir(), "set");
        Assert.Throws<IOException>(() => DatasetFolder.WriteAtomically(target, false, temp =>
        {
            File.WriteAllText(Path.Combine(temp, "a.png"), "x");
            throw new IOException("disk full");
        }));
        Assert.False(Directory.Exists(target));
        Assert.Empty(Directory.GetFileSystemEntries(Path.GetDirectoryName(target)!));
    }

    // --- item 6: temps of dead writers are removed on the next write in that folder ---

    [Fact]
    public void Stale_temps_of_dead_processes_are_removed_and_live_ones_kept()
    {
        var dir = TestData.TempDir();
        var dead = Path.Combine(dir, $".optimizer-epoch0003.bin.{DeadPid()}.{Guid.NewGuid():N}.tmp");
        var deadVideo = Path.Combine(dir, $".clip.{DeadPid()}.{Guid.NewGuid():N}.tmp.mp4");
        var deadFolder = Path.Combine(dir, $".set.{DeadPid()}.{Guid.NewGuid():N}.tmp");
        var live = Path.Combine(dir, $".other.bin.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var userFile = Path.Combine(dir, ".notes.1.tmp");
        File.WriteAllText(dead, "x");
        File.WriteAllText(deadVideo, "x");
        Directory.CreateDirectory(deadFolder);
        File.WriteAllText(live, "x");
        File.WriteAllText(userFile, "x");

        AtomicFile.WriteAllBytes(Path.Combine(dir, "last.munet"), [1]);

        Assert.False(File.Exists(dead));
        Assert.False(File.Exists(deadVideo));
        Assert.False(Directory.Exists(deadFolder));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(userFile));
        Assert.Equal([1], File.ReadAllBytes(Path.Combine(dir, "last.munet")));
    }

    // --- item 7: no foreground anywhere is an error, 0/1 masks are read as such ---

    [Fact]
    public void Ground_truth_without_foreground_is_an_error_not_IoU_1()
    {
        Torch.EnsureReady();
        using var segmenter = SegmenterFactory.Open(TinyModel.Value, Backend.Onnx);
        var empty = new FolderPairsDataset(Pairs(2, 0));
        var e = Assert.Throws<InvalidDataException>(() => Evaluator.Run(segmenter, empty, "tiny"));
        Assert.Contains("no foreground", e.Message);
    }

    [Fact]
    public void Training_on_ground_truth_without_foreground_stops_instead_of_reporting_IoU_1()
    {
        var run = Path.Combine(TestData.TempDir(), "run");
        var r = Cli.Run("train", "--data", Pairs(10, 0), "--alpha", "0.25", "--size", "32", "--epochs", "1", "--steps", "1", "--batch", "2", "-o", run);
        AssertOneLineError(r, "no foreground pixels", 1);
        Assert.DoesNotContain("IoU 1.0000", r.Stdout);
        Assert.False(File.Exists(Path.Combine(run, Training.Checkpoint.Best)));
        Assert.False(File.Exists(Path.Combine(run, Training.Checkpoint.Last)), "the check runs before the first epoch");
        Assert.DoesNotContain("epoch 1", r.Stdout + r.Stderr);
    }

    [Fact]
    public void Masks_stored_as_0_and_1_read_1_as_foreground()
    {
        var zeroOne = new FolderPairsDataset(Pairs(1, 1)).Load(0);
        var zero255 = new FolderPairsDataset(Pairs(1, 255)).Load(0);
        Assert.Equal(16 * 16, zeroOne.Mask.Labels.Count(l => l == Mask.Foreground));
        Assert.Equal(zero255.Mask.Labels, zeroOne.Mask.Labels);
    }

    [Fact]
    public void Eval_reports_images_with_empty_truth_and_empty_prediction()
    {
        Torch.EnsureReady();
        using var segmenter = SegmenterFactory.Open(TinyModel.Value, Backend.Onnx);
        // At threshold 0.999 an untrained model predicts nothing: the image with an empty mask is "empty and empty".
        var report = Evaluator.Run(segmenter, new FolderPairsDataset(Pairs([255, 0, 255])), "tiny", threshold: 0.999f);
        Assert.Equal(1, report.EmptyImages);
        Assert.Equal(1.0, report.PerImage[1].Metrics.IoU);
    }

    [Theory]
    [InlineData("--voc-classes", "--voc-classes", "")]
    [InlineData("--class-value", "--class-value", "300")]
    public void Dataset_options_that_select_no_foreground_are_refused(string option, params string[] args)
    {
        var data = option == "--class-value" ? ["--data", Pairs(1, 255)] : new[] { "--voc", TestData.Voc };
        AssertOneLineError(Cli.Run(["eval", "-m", TinyModel.Value, .. data, .. args]), option, 2);
    }

    // --- item 8: unknown options are errors, with the nearest real option ---

    [Fact]
    public void Unknown_options_are_errors_that_suggest_the_nearest()
    {
        var output = Path.Combine(TestData.TempDir(), "m.onnx");
        var r = Cli.Run("export", "--untrained", "--alpha", "0.25", "--size", "32", "--precison", "fp16", "-o", output);
        AssertOneLineError(r, "Did you mean --precision?", 2);
        Assert.False(File.Exists(output));
        AssertOneLineError(Cli.Run("train", "--bogus", "3"), "bogus", 2);
    }

    [Fact]
    public void A_bad_value_of_an_optional_choice_lists_the_choices()
    {
        var r = Cli.Run("train", "--upsampling", "Bogus", "-o", Path.Combine(TestData.TempDir(), "run"));
        AssertOneLineError(r, "Failed to convert 'Bogus'. Valid values are 'TransposedConv', 'BilinearConv', 'NearestConv'", 2);
        Assert.DoesNotContain("Nullable", r.Stderr);
    }

    [Fact]
    public void Another_commands_option_is_refused_without_suggesting_itself()
    {
        var output = Path.Combine(TestData.TempDir(), "labels");
        var r = Cli.Run("data", "label", "-m", TinyModel.Value, TestData.Voc, "-o", output, "--epochs", "1");
        AssertOneLineError(r, "This command has no --epochs", 2);
        Assert.DoesNotContain("Did you mean", r.Stderr);
        Assert.False(Directory.Exists(output));
    }

    // --- items 12-14: early, named errors for values and outputs ---

    [Theory]
    [InlineData("nan")]
    [InlineData("2")]
    [InlineData("-1")]
    public void Thresholds_outside_0_1_are_refused(string threshold)
    {
        AssertOneLineError(Cli.Run("eval", "-m", TinyModel.Value, "--threshold", threshold), "--threshold", 2);
        AssertOneLineError(Cli.Run("predict", Path.Combine(TestData.Root, "demo", "chelsea.png"), "--threshold", threshold), "--threshold", 2);
        AssertOneLineError(Cli.Run("video", "clip.mp4", "-o", "out.mp4", "--threshold", threshold), "--threshold", 2);
    }

    [Fact]
    public void Negative_minutes_are_refused() =>
        AssertOneLineError(Cli.Run("train", "--minutes", "-1"), "--minutes", 2);

    [Theory]
    [InlineData("train", "--lr", "0")]
    [InlineData("sweep", "--lr", "-1")]
    [InlineData("demo", "--epochs", "0")]
    [InlineData("train", "--step-every", "0")]
    [InlineData("train", "--zoom", "1.6,0.9")]
    [InlineData("train", "--zoom", "1.2")]
    [InlineData("train", "--rotation", "-5")]
    [InlineData("train", "--alpha-up", "0")]
    [InlineData("train", "--alpha-up", "1.5")]
    public void Training_schedule_errors_name_the_flag(string command, string flag, string value) =>
        AssertOneLineError(Cli.Run(command, flag, value), flag, 2);

    [Fact]
    public void Train_zoom_and_rotation_set_the_real_photo_augmentation_and_default_to_it()
    {
        Assert.Equal(AugmentOptions.RealPhotos, new MobileUNet.Cli.Commands.TrainCommand.Settings().RealPhotoAugmentation());
        var light = new MobileUNet.Cli.Commands.TrainCommand.Settings { Zoom = "0.95, 1.15", Rotation = 8 }.RealPhotoAugmentation();
        Assert.Equal(AugmentOptions.RealPhotos with { MinZoom = 0.95, MaxZoom = 1.15, MaxRotationDegrees = 8 }, light);
    }

    [Fact]
    public void Train_alpha_up_widens_only_the_decoder_and_defaults_to_alpha()
    {
        Assert.Equal(new ModelSpec(0.5, 128), new MobileUNet.Cli.Commands.TrainCommand.Settings().ToOptions().Spec);
        var wide = new MobileUNet.Cli.Commands.TrainCommand.Settings { AlphaUp = 1 }.ToOptions().Spec;
        Assert.Equal((0.5, 1.0, 128), (wide.Alpha, wide.AlphaUp, wide.InputSize));
        Assert.Equal(256, wide.U(512));
    }

    [Fact]
    public void Train_init_supplies_the_network_flags_left_out()
    {
        using var source = new Model.MobileUNet(new ModelSpec(0.25, 64, Upsampling.BilinearConv, alphaUp: 0.5));
        var path = Path.Combine(TestData.TempDir(), "wide.munet");
        WeightsFile.Save(source, path, Checkpoint.Extra(Normalization.ImageNet, null));
        Assert.Equal(source.Spec, new TrainSettings { Init = path }.ToOptions().Spec);
        // What is given wins: another size, or another alpha (whose decoder then follows it, as without --init).
        Assert.Equal(source.Spec with { InputSize = 96 }, new TrainSettings { Init = path, Size = 96 }.ToOptions().Spec);
        Assert.Equal(new ModelSpec(0.5, 64, Upsampling.BilinearConv), new TrainSettings { Init = path, Alpha = 0.5 }.ToOptions().Spec);
        Assert.Equal(new ModelSpec(0.5, 128), new TrainSettings().ToOptions().Spec);
    }

    [Fact]
    public void The_library_names_its_properties_not_the_cli_flags()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new TrainOptions { Spec = new ModelSpec(0.25, 32), LearningRate = 0 }.Validate());
        Assert.StartsWith("LearningRate must be positive", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => new TrainOptions { Spec = new ModelSpec(0.25, 32), Epochs = 0 }.Validate());
        Assert.StartsWith("Epochs must be 1..", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrainOptions { Spec = new ModelSpec(0.25, 32), InitWeights = "a.munet", EncoderWeights = "b.json" }.Validate());
    }

    [Fact]
    public void A_file_where_a_folder_is_expected_and_a_folder_where_a_file_is_expected_are_named()
    {
        var dir = TestData.TempDir();
        var file = Path.Combine(dir, "taken");
        File.WriteAllText(file, "x");
        AssertOneLineError(Cli.Run("predict", Path.Combine(TestData.Root, "demo", "chelsea.png"), "-m", TinyModel.Value, "-o", file), "is a file; expected a folder", 2);
        AssertOneLineError(Cli.Run("train", "-o", file), "is a file; expected a folder", 2);
        AssertOneLineError(Cli.Run("data", "synth", "-o", file), "is a file; expected a folder", 2);
        AssertOneLineError(Cli.Run("video", "clip.mp4", "-o", dir), "is a folder", 2);
        AssertOneLineError(Cli.Run("bench", "--sizes", "32", "--alphas", "0.25", "-o", file), "is a file; expected a folder", 2);
    }

    [Fact]
    public void Unwritable_outputs_fail_before_the_work_and_leave_no_folder()
    {
        var dir = TestData.TempDir();
        var file = Path.Combine(dir, "plain-file");
        File.WriteAllText(file, "x");
        var clock = Stopwatch.StartNew();
        AssertOneLineError(Cli.Run("eval", "-m", TinyModel.Value, "--val-count", "2", "--json", Path.Combine(file, "report.json")), "cannot write", 1);
        AssertOneLineError(Cli.Run("train", "-o", Path.Combine(file, "run"), "--epochs", "1"), "cannot write", 1);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");

        var run = Path.Combine(dir, "fresh-run");
        AssertOneLineError(Cli.Run("train", "-o", run, "--resume", "--epochs", "1", "--val-count", "2"), "no checkpoint to resume from", 1);
        Assert.False(Directory.Exists(run));
    }

    // --- item 10: LFW folders are checked for what they hold ---

    [Fact]
    public void Lfw_folders_swapped_or_wrong_are_refused()
    {
        var photos = TestData.TempDir();
        var masks = TestData.TempDir();
        File.Copy(Path.Combine(TestData.Root, "demo", "chelsea.png"), Path.Combine(photos, "a_0001.jpg"));
        ImageFile.WritePng(Path.Combine(masks, "a_0001.ppm"), TestData.Blocks(8, 8, (0, 0, 4, 4), (255, 0, 0), (0, 0, 255)));
        Assert.Contains("LFW mask folder", Assert.Throws<InvalidDataException>(() => new LfwPartsDataset(photos, photos)).Message);
        Assert.Contains("LFW photo folder", Assert.Throws<InvalidDataException>(() => new LfwPartsDataset(masks, masks)).Message);
    }

    // --- item 9: non-finite weights are refused at load time, non-finite outputs on the first run ---

    static Model.MobileUNet NanModel()
    {
        Torch.EnsureReady();
        var model = new Model.MobileUNet(new ModelSpec(0.25, 32));
        using (TorchSharp.torch.no_grad())
            model.state_dict()["encoder.b13.pointwise.weight"].fill_(float.NaN);
        return model;
    }

    [Fact]
    public void Nan_weights_are_refused_at_load_on_munet_and_onnx()
    {
        var dir = TestData.TempDir();
        var munet = Path.Combine(dir, "nan.munet");
        var onnx = Path.Combine(dir, "nan.onnx");
        using (var model = NanModel())
        {
            WeightsFile.Save(model, munet, Training.Checkpoint.Extra(Normalization.ImageNet, null));
            File.WriteAllBytes(onnx, Export.OnnxExporter.ToBytes(model));
        }
        Assert.Contains("NaN", Assert.Throws<InvalidDataException>(() => WeightsFile.Load(munet)).Message);
        Assert.Contains("NaN", Assert.Throws<InvalidDataException>(() => OnnxSegmenter.Open(onnx)).Message);
        var photo = Path.Combine(TestData.Root, "demo", "chelsea.png");
        foreach (var (model, backend) in new[] { (munet, "Onnx"), (munet, "Torch"), (onnx, "Onnx") })
            AssertOneLineError(Cli.Run("predict", "-m", model, "-b", backend, photo, "-o", Path.Combine(dir, "out")), "NaN", 1);
    }

    // --- item 14: std 0 in the ONNX metadata ---

    [Fact]
    public void Zero_std_in_onnx_metadata_is_refused_with_the_file_named()
    {
        Torch.EnsureReady();
        using var model = new Model.MobileUNet(new ModelSpec(0.25, 32));
        var bytes = Export.OnnxExporter.ToBytes(model, new Export.OnnxExportOptions { Normalization = new Normalization([0.5f, 0.5f, 0.5f], [0.2f, 0f, 0.2f]) });
        var e = Assert.Throws<InvalidDataException>(() => OnnxSegmenter.FromBytes(bytes, "zero-std.onnx"));
        Assert.Contains("zero-std.onnx", e.Message);
        Assert.Contains("std must be positive", e.Message);
    }

    // --- item 11: a broken or interrupted video input keeps the valid frames, warns and exits non-zero ---

    static void Ffmpeg(params string[] args)
    {
        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
        foreach (var a in (string[])["-v", "error", "-y", .. args]) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
    }

    static void Truncate(string path) => File.WriteAllBytes(path, File.ReadAllBytes(path)[..(int)(new FileInfo(path).Length / 2)]);

    [Fact]
    public void Truncated_or_corrupt_video_input_keeps_the_frames_warns_and_exits_1()
    {
        var dir = TestData.TempDir();
        var clip = Path.Combine(dir, "clip.mp4");
        Assert.Equal(0, Cli.Run("video-sample", "-o", clip, "--frames", "100").ExitCode);
        var mp4 = Path.Combine(dir, "front.mp4");
        var ts = Path.Combine(dir, "clip.ts");
        Ffmpeg("-i", clip, "-c", "copy", "-movflags", "+faststart", mp4);
        Ffmpeg("-i", clip, "-c", "copy", ts);
        Truncate(mp4);
        Truncate(ts);
        var frames = Directory.CreateDirectory(Path.Combine(dir, "frames")).FullName;
        Ffmpeg("-i", clip, "-frames:v", "6", Path.Combine(frames, "f%03d.png"));
        File.WriteAllBytes(Path.Combine(frames, "f003.png"), [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 7))]);

        foreach (var (input, says) in new[] { (mp4, "of 100 frames"), (ts, "truncated"), (frames, "Invalid") })
        {
            var output = Path.Combine(dir, Path.GetFileName(input) + ".out.mp4");
            var r = Cli.Run("video", input, "-o", output, "--alpha", "0.25", "--size", "32");
            Assert.True(r.ExitCode == 1, $"{input}: exit {r.ExitCode}, {r.Stderr}");
            var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("warning:", line);
            Assert.Contains(says, line);
            Assert.True(File.Exists(output), "the valid shorter file is kept");
        }
    }

    [Fact]
    public void Max_frames_0_is_refused_as_an_argument() =>
        AssertOneLineError(Cli.Run("video", "clip.mp4", "-o", "out.mp4", "--max-frames", "0"), "--max-frames", 2);
}
