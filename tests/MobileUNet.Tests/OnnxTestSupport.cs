using TorchSharp;
using MobileUNet.Model;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace MobileUNet.Tests;

/// <summary>Real models with non-trivial BatchNorm statistics, and plain ONNX Runtime runs over named inputs.</summary>
public static class OnnxTestSupport
{
    /// <summary>
    /// A model in eval mode whose BN running statistics, scales and shifts are random and far from the identity
    /// (fresh BN is mean 0, var 1, gamma 1, beta 0), so a wrong fold would show.
    /// </summary>
    public static Model.MobileUNet RandomModel(ModelSpec spec, int seed)
    {
        Torch.EnsureReady();
        manual_seed(seed);
        var model = new Model.MobileUNet(spec);
        using (no_grad())
        {
            foreach (var (name, t) in model.named_buffers())
            {
                if (name.EndsWith("running_mean")) t.copy_(randn_like(t) * 0.2);
                else if (name.EndsWith("running_var")) t.copy_(rand_like(t) * 1.5 + 0.3);
            }
            foreach (var (name, p) in model.named_parameters())
            {
                bool bn = name.Contains(".bn");
                if (bn && name.EndsWith(".weight")) p.copy_(rand_like(p) + 0.5);
                else if (bn && name.EndsWith(".bias")) p.copy_(randn_like(p) * 0.2);
            }
        }
        model.eval();
        return model;
    }

    /// <summary>
    /// The TorchSharp reference, run in float64. libtorch 2.10's float32 CPU conv2d returns wrong values (errors of
    /// ~25 on outputs of ~50, sometimes NaN) on this machine for a 3x3 conv whose input channels are not a multiple
    /// of 16-ish at 32x32 and larger (e.g. 60 -> 18 at 64x64, b18 of alpha 0.75); the float64 path is right and
    /// agrees with ONNX Runtime. Converts the model to float64 in place: export before calling this.
    /// </summary>
    public static float[] ReferencePredict(Model.MobileUNet model, Tensor x)
    {
        model.to(float64);
        using var _ = no_grad();
        using var x64 = x.to(float64);
        using var p = model.Predict(x64);
        using var p32 = p.to(float32);
        return Floats(p32);
    }

    public static SessionOptions Options()
    {
        var o = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return o;
    }

    /// <summary>Runs a model on named float inputs; returns every output as floats.</summary>
    public static Dictionary<string, float[]> Run(byte[] onnx, params (string Name, Tensor Value)[] inputs)
    {
        using var options = Options();
        using var session = new InferenceSession(onnx, options);
        return Run(session, inputs);
    }

    public static Dictionary<string, float[]> Run(InferenceSession session, params (string Name, Tensor Value)[] inputs)
    {
        var values = inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Value.data<float>().ToArray(), i.Value.shape)).ToList();
        try
        {
            using var runOptions = new RunOptions();
            var names = session.OutputMetadata.Keys.ToList();
            using var outputs = session.Run(runOptions, inputs.Select(i => i.Name).ToList(), values, names);
            return names.Zip(outputs).ToDictionary(p => p.First, p => p.Second.GetTensorDataAsSpan<float>().ToArray());
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    public static float MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        float max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    public static float[] Floats(Tensor t) => t.contiguous().data<float>().ToArray();
}
