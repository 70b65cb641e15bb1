namespace MobileUNet.Video;

/// <summary>
/// Exponential moving average of probabilities across frames: s_t = m * s_{t-1} + (1 - m) * p_t, with s_0 = p_0.
/// <c>m</c> (the momentum, <c>--smooth</c>) in [0, 1): 0 is no smoothing, larger values remove more flicker and
/// lag more behind motion.
/// </summary>
internal sealed class TemporalSmoother
{
    readonly float momentum;
    readonly float[] state;
    bool primed;

    public TemporalSmoother(int length, double momentum)
    {
        if (momentum is < 0 or >= 1 || double.IsNaN(momentum))
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "smoothing momentum must be in [0, 1)");
        this.momentum = (float)momentum;
        state = new float[length];
    }

    /// <summary>Folds <paramref name="probabilities"/> into the running average and writes the average to <paramref name="smoothed"/>.</summary>
    public void Apply(ReadOnlySpan<float> probabilities, Span<float> smoothed)
    {
        if (!primed)
        {
            probabilities[..state.Length].CopyTo(state);
            primed = true;
        }
        else
        {
            float keep = momentum, take = 1f - momentum;
            for (int i = 0; i < state.Length; i++) state[i] = keep * state[i] + take * probabilities[i];
        }
        state.CopyTo(smoothed);
    }
}

/// <summary>
/// Flicker: the mean absolute change of the binary mask (probability >= threshold) between consecutive frames,
/// i.e. the fraction of pixels that flip, averaged over every pair of frames. 0 for a still mask.
/// </summary>
internal sealed class FlickerMeter
{
    readonly bool[] previous;
    readonly float threshold;
    bool primed;
    double sum;
    long pairs;

    public FlickerMeter(int length, float threshold = 0.5f)
    {
        previous = new bool[length];
        this.threshold = threshold;
    }

    public void Add(ReadOnlySpan<float> probabilities)
    {
        int flips = 0;
        for (int i = 0; i < previous.Length; i++)
        {
            bool on = probabilities[i] >= threshold;
            if (primed && on != previous[i]) flips++;
            previous[i] = on;
        }
        if (primed)
        {
            sum += (double)flips / previous.Length;
            pairs++;
        }
        primed = true;
    }

    /// <summary>Mean fraction of flipped pixels per consecutive pair; 0 with fewer than two frames.</summary>
    public double Flicker => pairs == 0 ? 0 : sum / pairs;

    public long Pairs => pairs;
}
