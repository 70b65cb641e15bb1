using MobileUNet.Data;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Training;

namespace MobileUNet.Tests;

public class TrainingTests
{
    // A tiny model on tiny composites: a couple of seconds per run on one thread.
    static readonly Lazy<CompositeSynthesizer> Synth = new(() => CompositeSynthesizer.FromFolders(TestData.Cutouts, TestData.Backgrounds, 32));

    static TrainOptions Tiny(int epochs) => new()
    {
        Spec = new ModelSpec(0.25, 32),
        Epochs = epochs,
        StepsPerEpoch = 6,
        BatchSize = 8,
        LearningRate = 5e-3,
        WarmupSteps = 2,
        Threads = 1,
        Seed = 3,
    };

    // One finished tiny run's last.munet, which the tests that start from saved weights read (never write).
    static readonly Lazy<string> OneEpochCheckpoint = new(() =>
    {
        Torch.EnsureReady();
        var dir = TestData.TempDir();
        TinyTrainer(Tiny(1)).Run(dir, resume: false);
        return Path.Combine(dir, Checkpoint.Last);
    });

    static Trainer TinyTrainer(TrainOptions o) =>
        new(o, new SynthTrainingSource(Synth.Value), new SynthValidationSet(Synth.Value, 8, 99), Normalization.ImageNet);

    [Fact]
    public void Short_training_run_lowers_the_loss_and_writes_its_files()
    {
        Torch.EnsureReady();
        var dir = TestData.TempDir();
        var result = TinyTrainer(Tiny(3)).Run(dir, resume: false);
        Assert.Equal(3, result.History.Count);
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss - 0.05,
            $"loss {result.History[0].TrainLoss:0.000} -> {result.History[^1].TrainLoss:0.000}");
        foreach (var f in new[] { Checkpoint.Last, Checkpoint.Best, TrainingLog.Csv, TrainingLog.JsonFile, TrainingLog.Chart, "optimizer-epoch0003.bin" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(dir, TrainingLog.Csv)).Length);
        var header = WeightsFormat.ReadHeader(Path.Combine(dir, Checkpoint.Best));
        Assert.Equal(Normalization.ImageNet, Checkpoint.NormalizationOf(header));
        Assert.Equal(result.BestEpoch, Checkpoint.ReadState(Path.Combine(dir, Checkpoint.Best)).Epoch);
        Assert.Empty(Directory.EnumerateFiles(dir, "*.tmp"));
    }

    [Fact]
    public void A_time_budget_stretches_a_short_plan_to_use_the_minutes_and_ends_inside_them()
    {
        Torch.EnsureReady();
        var dir = TestData.TempDir();
        var budget = TimeSpan.FromSeconds(8);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = TinyTrainer(Tiny(2) with { StepsPerEpoch = 1, TimeBudget = budget }).Run(dir, resume: false);
        // 2 epochs were asked for; a tiny epoch takes well under a second, so the budget buys many more.
        Assert.True(result.History.Count > 2, $"ran {result.History.Count} epochs in {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(clock.Elapsed < budget + TimeSpan.FromSeconds(4), $"took {clock.Elapsed.TotalSeconds:0.0} s for an 8 s budget");
        Assert.Equal(result.History.Count, Checkpoint.ReadState(Path.Combine(dir, Checkpoint.Last)).Options.Epochs);
    }

    [Fact]
    public void Init_starts_from_saved_weights_of_another_input_size()
    {
        var saved = OneEpochCheckpoint.Value;
        var second = TestData.TempDir();
        var options = Tiny(1) with { Spec = new ModelSpec(0.25, 64), InitWeights = saved, LearningRate = 1e-9, WarmupSteps = 1 };
        var synth64 = CompositeSynthesizer.FromFolders(TestData.Cutouts, TestData.Backgrounds, 64);
        new Trainer(options, new SynthTrainingSource(synth64), new SynthValidationSet(synth64, 4, 99), Normalization.ImageNet).Run(second, resume: false);
        using var a = WeightsFile.Load(saved).Model;
        using var b = WeightsFile.Load(Path.Combine(second, Checkpoint.Last)).Model;
        var w = a.state_dict()["encoder.b13.pointwise.weight"];
        Assert.True(w.allclose(b.state_dict()["encoder.b13.pointwise.weight"], 1e-4, 1e-5), "a near-zero learning rate keeps the initial weights");
    }

    [Fact]
    public void Encoder_weights_from_a_trained_model_start_the_encoder_under_a_fresh_wider_decoder()
    {
        var saved = OneEpochCheckpoint.Value;
        var second = TestData.TempDir();
        var wide = Tiny(1) with { Spec = Tiny(1).Spec with { AlphaUp = 0.5 }, EncoderWeights = saved, LearningRate = 1e-9, WarmupSteps = 1, Seed = 8 };
        TinyTrainer(wide).Run(second, resume: false);
        using var a = WeightsFile.Load(saved).Model;
        using var b = WeightsFile.Load(Path.Combine(second, Checkpoint.Last)).Model;
        using var fresh = new Model.MobileUNet(wide.Spec, wide.Seed);
        var before = a.state_dict();
        var after = b.state_dict();
        foreach (var name in new[] { "encoder.b00.conv.weight", "encoder.b07.depthwise.weight", "encoder.b13.pointwise.weight" })
            Assert.True(before[name].allclose(after[name], 1e-3, 1e-5), $"{name}: a near-zero learning rate keeps the trained encoder");
        // The decoder is the other width, from the run's own seed, not the source's.
        var kernels = after.Where(kv => kv.Key.StartsWith("decoder.", StringComparison.Ordinal) && kv.Value.dim() == 4).ToList();
        Assert.Contains(kernels, kv => !kv.Value.shape.SequenceEqual(before[kv.Key].shape));
        var init = fresh.state_dict();
        foreach (var (name, kernel) in kernels)
            Assert.True(init[name].allclose(kernel, 1e-3, 1e-5), $"{name} starts from the run's seed");

        // Another encoder width, or a model trained on other input normalisation, is refused naming the file.
        using var narrow = new Model.MobileUNet(new ModelSpec(0.5, 32));
        Assert.Contains(saved, Assert.Throws<InvalidDataException>(() => WeightsFile.LoadEncoderInto(narrow, saved, Normalization.ImageNet)).Message);
        using var same = new Model.MobileUNet(wide.Spec);
        Assert.Contains("normalised", Assert.Throws<InvalidDataException>(() => WeightsFile.LoadEncoderInto(same, saved, Normalization.UnitRange)).Message);
    }

    [Fact]
    public void Resume_after_an_interruption_continues_with_identical_state()
    {
        Torch.EnsureReady();
        var straight = TestData.TempDir();
        var straightResult = TinyTrainer(Tiny(2)).Run(straight, resume: false);

        // Interrupt the second run partway through epoch 2 (as a kill would), then resume it.
        var interrupted = TestData.TempDir();
        using var cancel = new CancellationTokenSource();
        var progress = new Stop(p => { if (p.Epoch == 2 && p.Step == 3) cancel.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => TinyTrainer(Tiny(2)).Run(interrupted, resume: false, progress, cancel.Token));
        Assert.Equal(1, Checkpoint.ReadState(Path.Combine(interrupted, Checkpoint.Last)).Epoch);
        Assert.Throws<InvalidOperationException>(() => TinyTrainer(Tiny(2)).Run(interrupted, resume: false));
        var resumed = TinyTrainer(Tiny(2)).Run(interrupted, resume: true);

        Assert.Equal(2, resumed.FirstEpoch);
        Assert.Equal(2, resumed.History.Count);
        Assert.Equal(straightResult.History[0], resumed.History[0] with { Seconds = straightResult.History[0].Seconds, ImagesPerSecond = straightResult.History[0].ImagesPerSecond });
        Assert.Equal(straightResult.History[1].TrainLoss, resumed.History[1].TrainLoss, 4);
        Assert.Equal(straightResult.History[1].ValidationIoU, resumed.History[1].ValidationIoU, 4);
        var (a, _) = WeightsFile.Load(Path.Combine(straight, Checkpoint.Last));
        var (b, _) = WeightsFile.Load(Path.Combine(interrupted, Checkpoint.Last));
        using (a) using (b)
        {
            var bState = b.state_dict();
            foreach (var (name, t) in a.state_dict())
                Assert.True(t.allclose(bState[name], rtol: 1e-4, atol: 1e-5), $"{name} differs after resume");
        }
        Assert.Single(Directory.EnumerateFiles(interrupted, "optimizer-epoch*.bin"));
    }

    [Fact]
    public void Resume_refuses_a_missing_or_mismatched_checkpoint()
    {
        Torch.EnsureReady();
        var empty = TestData.TempDir();
        Assert.Contains(Checkpoint.Last, Assert.Throws<FileNotFoundException>(() => TinyTrainer(Tiny(1)).Run(empty, resume: true)).Message);
    }

    [Fact]
    public void Nan_loss_stops_training_with_a_clear_message_and_no_checkpoint()
    {
        Torch.EnsureReady();
        var dir = TestData.TempDir();
        // A zero standard deviation turns black pixels into 0 * infinity = NaN inputs, hence a NaN loss.
        var broken = new Normalization([0.5f, 0.5f, 0.5f], [0f, 0f, 0f]);
        var trainer = new Trainer(Tiny(1), new SynthTrainingSource(Synth.Value), new SynthValidationSet(Synth.Value, 8, 99), broken);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run(dir, resume: false));
        Assert.Contains("epoch 1, step 1", e.Message);
        Assert.False(File.Exists(Path.Combine(dir, Checkpoint.Last)));
    }

    sealed class Stop(Action<TrainProgress> action) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value) => action(value);
    }
}
