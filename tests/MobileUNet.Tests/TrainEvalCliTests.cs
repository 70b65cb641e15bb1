using System.Text.Json;
using MobileUNet.Data;
using MobileUNet.Inference;
using MobileUNet.Model;

namespace MobileUNet.Tests;

/// <summary>The real `mobileunet` program on real files: outputs, and one-line errors with no partial outputs.</summary>
public class TrainEvalCliTests
{
    static Lazy<string> TinyModel => TinyMunet.Path;

    static void AssertOneLineError(Cli.Result r, string mustName)
    {
        Assert.NotEqual(0, r.ExitCode);
        var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error:", line);
        Assert.Contains(mustName, line);
    }

    [Fact]
    public void Predict_writes_mask_and_overlay_at_the_photo_size()
    {
        var outDir = Path.Combine(TestData.TempDir(), "pred");
        var photo = Path.Combine(TestData.Root, "demo", "chelsea.png");
        var r = Cli.Run("predict", "-m", TinyModel.Value, photo, "-o", outDir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var source = ImageFile.Read(photo);
        var mask = ImageFile.Read(Path.Combine(outDir, "chelsea.png.mask.png"));
        var overlay = ImageFile.Read(Path.Combine(outDir, "chelsea.png.overlay.png"));
        Assert.Equal((source.Width, source.Height), (mask.Width, mask.Height));
        Assert.Equal((source.Width, source.Height), (overlay.Width, overlay.Height));
        Assert.All(Enumerable.Range(0, 200), i => Assert.True(mask.Pixels[i * 4] is 0 or 255));
    }

    [Fact]
    public void Data_label_writes_a_folder_pairs_dataset_of_teacher_probabilities_and_resumes()
    {
        var outDir = Path.Combine(TestData.TempDir(), "labelled");
        var photos = Path.Combine(TestData.Root, "demo");
        var r = Cli.Run("data", "label", "-m", TinyModel.Value, photos, "-o", outDir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        int count = PredictCommandInputs(photos).Count;
        Assert.Equal(count, Directory.GetFiles(Path.Combine(outDir, "masks"), "*.png").Length);
        var dataset = new FolderPairsDataset(outDir);
        Assert.Equal(count, dataset.Count);
        var sample = dataset.Load(0);
        Assert.Equal((sample.Image.Width, sample.Image.Height), (sample.Mask.Width, sample.Mask.Height));
        // An untrained teacher is unsure everywhere: grey levels near the middle, i.e. soft labels, not 0/255.
        var soft = ImageFile.Read(Path.Combine(outDir, "masks", Path.GetFileNameWithoutExtension(PredictCommandInputs(photos)[0]) + ".png"));
        Assert.Contains(Enumerable.Range(0, soft.Width * soft.Height), i => soft.Pixels[i * 4] is > 0 and < 255);

        File.Delete(Path.Combine(outDir, "masks", Path.GetFileNameWithoutExtension(PredictCommandInputs(photos)[0]) + ".png"));
        var again = Cli.Run("data", "label", "-m", TinyModel.Value, photos, "-o", outDir, "--threads", "1");
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains($"labelled 1, already done {count - 1}", again.Stdout);
    }

    static IReadOnlyList<string> PredictCommandInputs(string dir) => MobileUNet.Cli.Commands.PredictCommand.Inputs(dir);

    [Fact]
    public void Eval_on_voc_writes_json_with_every_image()
    {
        var json = Path.Combine(TestData.TempDir(), "eval.json");
        var r = Cli.Run("eval", "-m", TinyModel.Value, "--voc", TestData.Voc, "--json", json, "--threshold", "0.4");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(3, doc.RootElement.GetProperty("perImage").GetArrayLength());
        Assert.Equal(0.4, doc.RootElement.GetProperty("threshold").GetDouble(), 5);
        var iou = doc.RootElement.GetProperty("pooled").GetProperty("iou").GetDouble();
        Assert.InRange(iou, 0, 1);
    }

    [Fact]
    public void Eval_split_scores_the_side_of_the_training_split_asked_for()
    {
        var data = Path.Combine(TestData.TempDir(), "synth");
        Assert.Equal(0, Cli.Run("data", "synth", "-o", data, "--count", "20", "--size", "64", "--seed", "5").ExitCode);
        int Scored(string split)
        {
            var json = Path.Combine(TestData.TempDir(), split + ".json");
            var r = Cli.Run("eval", "-m", TinyModel.Value, "--data", data, "--split", split, "--json", json);
            Assert.True(r.ExitCode == 0, r.Stderr);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            return doc.RootElement.GetProperty("perImage").GetArrayLength();
        }
        var (train, validation) = SubsetDataset.Split(new FolderPairsDataset(data));
        Assert.Equal(validation.Count, Scored("Validation"));
        Assert.Equal(train.Count, Scored("Training"));
        Assert.Equal(20, Scored("All"));
        Assert.InRange(validation.Count, 1, 19);
    }

    [Fact]
    public void Data_synth_writes_a_folder_pairs_dataset_that_loads()
    {
        var outDir = Path.Combine(TestData.TempDir(), "synth");
        var r = Cli.Run("data", "synth", "-o", outDir, "--count", "3", "--size", "64", "--seed", "5");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var dataset = new FolderPairsDataset(outDir);
        Assert.Equal(3, dataset.Count);
        Assert.Contains(dataset.Load(1).Mask.Labels, l => l == Mask.Foreground);
    }

    [Fact]
    public void Unreadable_checkpoint_is_one_error_line()
    {
        var bad = Path.Combine(TestData.TempDir(), "broken.munet");
        File.WriteAllBytes(bad, [.. "MUNETW01"u8.ToArray(), 1, 2]);
        AssertOneLineError(Cli.Run("eval", "-m", bad, "--voc", TestData.Voc), "broken.munet");
        var outDir = Path.Combine(TestData.TempDir(), "never");
        AssertOneLineError(Cli.Run("predict", "-m", bad, Path.Combine(TestData.Root, "demo"), "-o", outDir), "broken.munet");
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void Fail_fast_stops_predict_at_a_bad_image_with_one_error_line()
    {
        var input = TestData.TempDir();
        File.WriteAllBytes(Path.Combine(input, "b.png"), File.ReadAllBytes(Path.Combine(TestData.Root, "demo", "chelsea.png"))[..5000]);
        var outDir = Path.Combine(TestData.TempDir(), "out");
        AssertOneLineError(Cli.Run("predict", "-m", TinyModel.Value, input, "-o", outDir, "--fail-fast"), "b.png");

        File.WriteAllBytes(Path.Combine(input, "b.png"), []);
        AssertOneLineError(Cli.Run("predict", "-m", TinyModel.Value, input, "-o", outDir, "--fail-fast"), "b.png: empty file");
        Assert.Empty(Directory.GetFiles(outDir, "*.png"));
    }

    [Fact]
    public void Bad_datasets_are_one_error_line_naming_the_file()
    {
        var missing = Path.Combine(TestData.TempDir(), "missing");
        AssertOneLineError(Cli.Run("eval", "-m", TinyModel.Value, "--data", missing), "missing");

        var root = TestData.TempDir();
        ImageFile.WritePng(Path.Combine(root, "images", "x.png"), TestData.Blocks(8, 8, (0, 0, 4, 4), (1, 1, 1), (2, 2, 2)));
        ImageFile.WritePng(Path.Combine(root, "images", "y.png"), TestData.Blocks(8, 8, (0, 0, 4, 4), (1, 1, 1), (2, 2, 2)));
        ImageFile.WriteGreyPng(Path.Combine(root, "masks", "x.png"), 8, 8, new byte[64]);
        var runDir = Path.Combine(TestData.TempDir(), "run");
        AssertOneLineError(Cli.Run("train", "--data", root, "--alpha", "0.25", "--size", "32", "--epochs", "1", "--steps", "1", "-o", runDir), "y.png");
        Assert.False(Directory.Exists(runDir));

        ImageFile.WriteGreyPng(Path.Combine(root, "masks", "y.png"), 9, 8, new byte[72]);
        var json = Path.Combine(TestData.TempDir(), "e.json");
        AssertOneLineError(Cli.Run("eval", "-m", TinyModel.Value, "--data", root, "--json", json), Path.Combine("masks", "y.png"));
        Assert.False(File.Exists(json));
    }
}
