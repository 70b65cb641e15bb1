using System.Diagnostics;
using MobileUNet.Data;
using MobileUNet.Evaluation;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Platform;
using TorchSharp;
using static TorchSharp.torch;

namespace MobileUNet.Training;

/// <summary>A snapshot for the progress display.</summary>
public sealed record TrainProgress(int Epoch, int Epochs, int Step, int StepsPerEpoch, double Loss, double? LastValidationIoU,
                                   double ImagesPerSecond, TimeSpan Elapsed, TimeSpan Remaining, string Phase);

public enum StopReason { Completed, TimeBudget, AlreadyComplete }

public sealed record TrainResult(string RunDirectory, string LastCheckpoint, string BestCheckpoint, int FirstEpoch, int LastEpoch,
                                 double BestIoU, int BestEpoch, StopReason Stopped, IReadOnlyList<EpochMetrics> History);

/// <summary>Loss became NaN or infinite: training stops and the last finished epoch's checkpoint stays as it was.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// Trains a <see cref="Model.MobileUNet"/> with BCE + (1 - Dice), Adam or SGD with momentum, a warm-up then cosine
/// or step schedule; validates every epoch and writes a resumable checkpoint after each one.
/// </summary>
public sealed class Trainer(TrainOptions requested, ITrainingSource source, ISegmentationDataset validation, Normalization normalization)
{
    // The plan: the requested options, with Epochs fitted to the time budget after the first epoch.
    TrainOptions options = null!;

    /// <summary>
    /// Runs (or resumes) training in <paramref name="runDir"/>, holding its <see cref="FolderLock"/> throughout: a
    /// second run into the same folder fails at once instead of mixing checkpoints. A run that fails before it
    /// wrote anything removes the folder it created.
    /// </summary>
    public TrainResult Run(string runDir, bool resume, IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
    {
        options = requested;
        options.Validate();
        bool created = !Directory.Exists(runDir);
        bool finished = false;
        try
        {
            using var folderLock = FolderLock.Acquire(runDir, "train run");
            AtomicFile.RemoveStaleTemps(runDir);
            var result = RunLocked(runDir, resume, progress, cancel);
            finished = true;
            return result;
        }
        finally
        {
            if (!finished && created && Directory.Exists(runDir) && !Directory.EnumerateFileSystemEntries(runDir).Any())
                Directory.Delete(runDir);
        }
    }

    TrainResult RunLocked(string runDir, bool resume, IProgress<TrainProgress>? progress, CancellationToken cancel)
    {
        // libtorch 2.10's oneDNN dense convolutions are wrong on this machine kind (forward values off, NaN input
        // gradients at b18 in backward); EnsureLoadable's probe detects that, and the network then runs them in
        // forms oneDNN gets right (TorchCpuBackend, Model.ComposedConvolution).
        TorchNativeLoader.EnsureLoadable();
        TorchNativeLoader.SetThreads(options.Threads);
        EnsureValidationHasForeground();
        Directory.CreateDirectory(runDir);
        var lastPath = Path.Combine(runDir, Checkpoint.Last);
        TrainingState? state = null;
        if (resume)
        {
            if (!File.Exists(lastPath)) throw new FileNotFoundException($"{lastPath}: no checkpoint to resume from.", lastPath);
            state = Checkpoint.ReadState(lastPath);
            if (state.Options.Spec != options.Spec)
                throw new InvalidDataException($"{lastPath}: checkpoint is for {state.Options.Spec}, but this run asks for {options.Spec}.");
            if (options.TimeBudget is not null) options = options with { Epochs = state.Options.Epochs };
        }
        else if (File.Exists(lastPath))
            throw new InvalidOperationException($"{lastPath}: the run folder already holds a checkpoint; resume it or choose another output folder.");

        // Initial weights come from the seed alone, never from torch's process-wide generator (SeededInit); data
        // randomness is (seed, sample index).
        using var model = new Model.MobileUNet(options.Spec, options.Seed);
        using var optimizer = CreateOptimizer(model);
        if (state is null && options.InitWeights is { } init) WeightsFile.StartFrom(model, init);
        if (state is null && options.EncoderWeights is { } encoderWeights)
        {
            if (ModelSource.Sniff(encoderWeights) == ModelFileKind.Weights) WeightsFile.LoadEncoderInto(model, encoderWeights, normalization);
            else PretrainedEncoder.LoadInto(model, encoderWeights, normalization);
        }
        if (state is not null)
        {
            WeightsFile.LoadInto(model, lastPath);
            Checkpoint.LoadOptimizer(optimizer, Path.Combine(runDir, state.OptimizerFile));
        }

        var history = new List<EpochMetrics>(state?.History ?? []);
        int firstEpoch = (state?.Epoch ?? 0) + 1;
        double bestIoU = state?.BestIoU ?? -1;
        int bestEpoch = state?.BestEpoch ?? 0;
        long step = state?.GlobalStep ?? 0;
        var stopped = firstEpoch > options.Epochs ? StopReason.AlreadyComplete : StopReason.Completed;
        var clock = Stopwatch.StartNew();
        double lastEpochSeconds = 0;
        var recentEpochSeconds = new List<double>();
        var iterationClock = new Stopwatch();
        int lastEpoch = firstEpoch - 1;

        for (int epoch = firstEpoch; epoch <= options.Epochs; epoch++)
        {
            if (iterationClock.IsRunning) recentEpochSeconds.Add(iterationClock.Elapsed.TotalSeconds); // the previous epoch, checkpoint included
            iterationClock.Restart();
            var epochClock = Stopwatch.StartNew();
            var (loss, bce, dice, imagesPerSecond, lr) = TrainEpoch(model, optimizer, epoch, ref step, history.LastOrDefault()?.ValidationIoU, clock, progress, cancel);
            progress?.Report(new TrainProgress(epoch, options.Epochs, options.StepsPerEpoch, options.StepsPerEpoch, loss,
                history.LastOrDefault()?.ValidationIoU, imagesPerSecond, clock.Elapsed, TimeSpan.Zero, "validating"));
            var (valLoss, valMetrics) = Validate(model, cancel);
            lastEpochSeconds = epochClock.Elapsed.TotalSeconds;
            var metrics = new EpochMetrics(epoch, step, lr, loss, bce, dice, valLoss, valMetrics.IoU, valMetrics.Dice, imagesPerSecond, lastEpochSeconds);
            history.Add(metrics);
            bool isBest = metrics.ValidationIoU > bestIoU;
            if (isBest) { bestIoU = metrics.ValidationIoU; bestEpoch = epoch; }
            if (epoch >= 2 && state is null && options.TimeBudget is { } fit)
            {
                // Fit the schedule to the budget in both directions after every epoch from the second, from the
                // mean of the last few epochs this process ran (its first pays for warm-up): the cosine reaches its
                // low learning rates inside the box instead of being cut off half-way, a quiet machine uses the
                // minutes it was given, and a machine that gets busier mid-run still lands on time. The fitted
                // count is recorded in the checkpoint, and a resume follows that plan rather than refitting.
                double perEpoch = recentEpochSeconds.Count > 1 ? recentEpochSeconds.Skip(1).TakeLast(3).Average()
                                : recentEpochSeconds.Count == 1 ? Math.Max(lastEpochSeconds, recentEpochSeconds[0] * 0.5) : lastEpochSeconds;
                options = options with { Epochs = epoch + Math.Max(0, (int)Math.Floor((fit.TotalSeconds - clock.Elapsed.TotalSeconds) / perEpoch)) };
            }
            // The one time-budget check, after each epoch (so a process always trains at least one). The fitted plan
            // is an estimate; when the next epoch no longer fits, a fresh run ends its plan here so the checkpoint
            // records what was run (a later --resume then reports it complete instead of adding an epoch the budget
            // refused). A resumed run keeps its recorded plan, so the next resume finishes it.
            bool outOfTime = options.TimeBudget is { } left && epoch < options.Epochs
                             && clock.Elapsed.TotalSeconds + lastEpochSeconds > left.TotalSeconds;
            if (outOfTime && state is null) options = options with { Epochs = epoch };
            var newState = new TrainingState(epoch, step, step * options.BatchSize, options.Seed, $"optimizer-epoch{epoch:D4}.bin",
                                             bestIoU, bestEpoch, history, options);
            Checkpoint.Save(runDir, model, optimizer, normalization, newState, isBest);
            TrainingLog.Write(runDir, history);
            lastEpoch = epoch;
            if (outOfTime) { stopped = StopReason.TimeBudget; break; }
        }
        return new TrainResult(runDir, lastPath, Path.Combine(runDir, Checkpoint.Best), firstEpoch, lastEpoch, bestIoU, bestEpoch, stopped, history);
    }

    TorchSharp.Modules.OptimizerHelper CreateOptimizer(Model.MobileUNet model) => options.Optimizer switch
    {
        OptimizerKind.Sgd => optim.SGD(model.parameters(), options.LearningRate, momentum: options.Momentum, weight_decay: options.WeightDecay),
        _ => new HeldScalarAdam(model.parameters(), options.LearningRate, options.WeightDecay),
    };

    (double Loss, double Bce, double Dice, double ImagesPerSecond, double LearningRate) TrainEpoch(
        Model.MobileUNet model, TorchSharp.Modules.OptimizerHelper optimizer, int epoch, ref long step, double? lastIoU,
        Stopwatch clock, IProgress<TrainProgress>? progress, CancellationToken cancel)
    {
        model.train();
        double sumLoss = 0, sumBce = 0, sumDice = 0, lr = 0;
        var epochClock = Stopwatch.StartNew();
        int b = options.BatchSize, s = options.Spec.InputSize;
        long totalSteps = (long)options.Epochs * options.StepsPerEpoch;
        for (int i = 0; i < options.StepsPerEpoch; i++, step++)
        {
            cancel.ThrowIfCancellationRequested();
            long first = step * b;
            var samples = new SegmentationSample[b];
            Parallel.For(0, b, k => samples[k] = source.Sample(options.Seed, first + k));
            lr = LearningRateSchedule.At(options, step);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;

            using var scope = NewDisposeScope();
            var (images, target, valid) = Batch.ToTensors(samples, s, normalization);
            using var logits = model.forward(images);
            var parts = SegmentationLoss.BceDice(logits, target, valid, options.Dice);
            double loss = parts.Total.item<float>();
            if (!double.IsFinite(loss))
                throw new TrainingDivergedException($"loss became {loss} at epoch {epoch}, step {i + 1} (learning rate {lr:G3}); stopped, the last finished epoch's checkpoint is kept. Try a lower learning rate.");
            optimizer.zero_grad();
            parts.Total.backward();
            optimizer.step();
            sumLoss += loss; sumBce += parts.Bce.item<float>(); sumDice += parts.Dice.item<float>();

            double ips = (i + 1) * b / epochClock.Elapsed.TotalSeconds;
            long remainingSteps = totalSteps - step - 1;
            progress?.Report(new TrainProgress(epoch, options.Epochs, i + 1, options.StepsPerEpoch, sumLoss / (i + 1), lastIoU, ips,
                clock.Elapsed, TimeSpan.FromSeconds(remainingSteps * b / Math.Max(ips, 1e-9)), "training"));
        }
        int n = options.StepsPerEpoch;
        return (sumLoss / n, sumBce / n, sumDice / n, n * b / epochClock.Elapsed.TotalSeconds, lr);
    }

    /// <summary>Loss and pooled metrics over the validation set at the model's size (eval mode, no autograd).</summary>
    (double Loss, SegmentationMetrics Metrics) Validate(Model.MobileUNet model, CancellationToken cancel)
    {
        model.eval();
        int s = options.Spec.InputSize;
        var pooled = default(ConfusionMatrix);
        double lossSum = 0;
        int batches = 0;
        using var _ = no_grad();
        for (int start = 0; start < validation.Count; start += options.BatchSize)
        {
            cancel.ThrowIfCancellationRequested();
            int count = Math.Min(options.BatchSize, validation.Count - start);
            var samples = new SegmentationSample[count];
            Parallel.For(0, count, k => samples[k] = Batch.ToModelSize(validation.Load(start + k), s));
            using var scope = NewDisposeScope();
            var (images, target, valid) = Batch.ToTensors(samples, s, normalization);
            using var logits = model.forward(images);
            lossSum += SegmentationLoss.BceDice(logits, target, valid, options.Dice).Total.item<float>();
            batches++;
            var probabilities = logits.sigmoid().contiguous().data<float>().ToArray();
            for (int k = 0; k < count; k++)
                pooled += ConfusionMatrix.Of(probabilities.AsSpan(k * s * s, s * s), samples[k].Mask.Labels);
        }
        model.train();
        return (lossSum / Math.Max(1, batches), pooled.Metrics());
    }

    /// <summary>
    /// No foreground anywhere in the validation masks would score every empty prediction as IoU 1: a broken dataset,
    /// not a perfect model. Checked before the first epoch (stopping at the first foreground pixel, so a good set
    /// costs one sample), so such a run fails at once and leaves no run folder behind.
    /// </summary>
    void EnsureValidationHasForeground()
    {
        for (int i = 0; i < validation.Count; i++)
            if (Array.IndexOf(validation.Load(i).Mask.Labels, Mask.Foreground) >= 0) return;
        throw new InvalidDataException($"{validation.Description}: the validation masks have no foreground pixels in any of {validation.Count} images; check the mask values (0/255, or the foreground class value given).");
    }
}

/// <summary>Samples to tensors: images normalised with <see cref="Normalization.ToChw"/>, masks as 0/1 targets (a teacher's soft probability where the mask has one) and a validity plane.</summary>
internal static class Batch
{
    public static (Tensor Images, Tensor Target, Tensor Valid) ToTensors(IReadOnlyList<SegmentationSample> samples, int size, Normalization normalization)
    {
        int n = samples.Count, plane = size * size;
        var images = new float[n * 3 * plane];
        var target = new float[n * plane];
        var valid = new float[n * plane];
        for (int k = 0; k < n; k++)
        {
            var sample = samples[k];
            if (sample.Image.Width != size || sample.Image.Height != size)
                throw new ArgumentException($"{sample.Name}: sample is {sample.Image.Width}x{sample.Image.Height}, expected {size}x{size}.");
            normalization.ToChw(sample.Image.Pixels, 4, images.AsSpan(k * 3 * plane, 3 * plane));
            var mask = sample.Mask;
            for (int i = 0; i < plane; i++)
            {
                target[k * plane + i] = mask.Target(i);
                valid[k * plane + i] = mask.Labels[i] == Mask.Ignore ? 0f : 1f;
            }
        }
        return (tensor(images, [n, 3, size, size]), tensor(target, [n, 1, size, size]), tensor(valid, [n, 1, size, size]));
    }

    /// <summary>Resizes a sample to S x S for validation: bilinear photo, nearest mask.</summary>
    public static SegmentationSample ToModelSize(SegmentationSample sample, int size) =>
        sample.Image.Width == size && sample.Image.Height == size
            ? sample
            : new SegmentationSample(sample.Name, sample.Image.Resize(size, size), sample.Mask.ResizeNearest(size, size));
}
