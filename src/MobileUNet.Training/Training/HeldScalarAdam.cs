using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MobileUNet.Training;

/// <summary>
/// TorchSharp's Adam (no AMSGrad, minimising), step for step, with every scalar operand held in a local until the
/// native call that reads it has returned. TorchSharp's own step passes <c>beta1</c>, <c>1 - beta1</c>, <c>eps</c>
/// and the step size as implicitly converted <see cref="Scalar"/>s that nothing references once their handle is
/// read; the finaliser thread can then free one while libtorch is reading it. That was the "random" training
/// crash of this project (<c>Unknown scalar type</c> from <c>THSTensor_add_scalar_</c>, several per hour on the
/// real-photo runs; <see cref="Model.HeldScalars"/>). TorchSharp's add overloads make an implicit alpha of their own, so
/// every add here names its alpha. Same state objects and file format as <see cref="Adam"/>, so checkpoints resume across the change.
/// </summary>
internal sealed class HeldScalarAdam(IEnumerable<Parameter> parameters, double learningRate, double weightDecay)
    : Adam(parameters, learningRate, weight_decay: weightDecay)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var o = (Options)group.Options;
        double beta1 = o.beta1!.Value, beta2 = o.beta2!.Value, decay = o.weight_decay!.Value;
        Scalar one = Model.HeldScalars.One;
        using Scalar b1 = beta1, oneMinusB1 = 1 - beta1, b2 = beta2, oneMinusB2 = 1 - beta2, eps = o.eps!.Value, decayScalar = decay;
        foreach (var param in group.Parameters)
        {
            var state = (State)_state[param.Handle];
            var grad = param.grad;
            if (grad is null) continue;
            state.step += 1;
            double correction1 = 1 - Math.Pow(beta1, state.step), correction2 = 1 - Math.Pow(beta2, state.step);
            if (decay != 0) grad = grad.add(param, alpha: decayScalar);
            state.exp_avg.mul_(b1).add_(grad, alpha: oneMinusB1);
            state.exp_avg_sq.mul_(b2).addcmul_(grad, grad, value: oneMinusB2); // real parameters: conj(grad) is grad
            using Scalar rootCorrection2 = Math.Sqrt(correction2), stepSize = -o.LearningRate!.Value / correction1;
            using var root = state.exp_avg_sq.sqrt();
            using var denominator = root.div_(rootCorrection2).add_(eps, alpha: one);
            param.addcdiv_(state.exp_avg, denominator, value: stepSize);
        }
    }, closure);
}
